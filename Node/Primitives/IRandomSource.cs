using System.Security.Cryptography;

namespace PeerPatch.Node.Primitives;

/// <summary>Randomness for ids and jitter, injectable so tests are reproducible.</summary>
internal interface IRandomSource
{
    /// <summary>A uniformly random non-zero 64-bit value (unguessable).</summary>
    ulong NextId();

    /// <summary>A value in [0, 1).</summary>
    double NextDouble();
}

/// <summary>Cryptographic ids, ordinary jitter.</summary>
internal sealed class SystemRandomSource : IRandomSource
{
    public ulong NextId()
    {
        Span<byte> bytes = stackalloc byte[8];
        ulong value;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            value = BitConverter.ToUInt64(bytes);
        }
        while (value == 0);
        return value;
    }

    public double NextDouble() => Random.Shared.NextDouble();
}
