using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// Deterministic pseudo-random file content of any size, produced on the fly (a 1 GB patch needs no disk
/// in the fake internet): a random 64 KiB block per seed, with the block number stamped into its first bytes.
/// </summary>
internal sealed class GeneratedContent
{
    public const int BlockBytes = 64 * 1024;
    private readonly byte[] _block;

    public GeneratedContent(long size, int seed)
    {
        Size = size;
        _block = new byte[BlockBytes];
        new Random(seed).NextBytes(_block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BlockBytes];
        for (long offset = 0; offset < size; offset += BlockBytes)
        {
            var n = Fill(buffer, offset);
            hash.AppendData(buffer, 0, n);
        }

        Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public long Size { get; }

    public string Sha256 { get; }

    /// <summary>Fills <paramref name="buffer"/> with the block at <paramref name="offset"/> (a multiple of BlockBytes); returns the byte count.</summary>
    public int Fill(byte[] buffer, long offset)
    {
        var n = (int)Math.Min(BlockBytes, Size - offset);
        _block.AsSpan(0, n).CopyTo(buffer);
        if (n >= 8)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buffer, (offset / BlockBytes) ^ BinaryPrimitives.ReadInt64LittleEndian(_block));
        }

        return n;
    }

    public byte[] ToArray()
    {
        var all = new byte[Size];
        var buffer = new byte[BlockBytes];
        for (long offset = 0; offset < Size; offset += BlockBytes)
        {
            var n = Fill(buffer, offset);
            buffer.AsSpan(0, n).CopyTo(all.AsSpan((int)offset));
        }

        return all;
    }
}
