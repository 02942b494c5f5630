using System.Security.Cryptography;
using System.Text;

namespace PeerPatch.Protocol.Security;

/// <summary>
/// A LAN's shared membership secret: 32 random bytes, written as "peerpatch-key-1:" + base64. Every other secret is
/// derived from it with HMAC-SHA256 under a distinct label, so one use can never be replayed as another. The
/// <see cref="ClusterId"/> (public, in mDNS adverts) is a one-way derivation: it names the cluster without revealing the key.
/// </summary>
public sealed class ClusterKey
{
    /// <summary>The text form's prefix (the version of the key format).</summary>
    public const string Prefix = "peerpatch-key-1:";

    /// <summary>Key length in bytes.</summary>
    public const int Length = 32;

    private readonly byte[] _key;

    private ClusterKey(byte[] key)
    {
        _key = key;
        ClusterId = Convert.ToHexStringLower(Derive("peerpatch cluster id", []).AsSpan(0, 8));
        Unconnected = new FrameSealer(Derive("peerpatch unconnected", []));
    }

    /// <summary>16 hex digits naming the cluster (public).</summary>
    public string ClusterId { get; }

    /// <summary>
    /// Seals one-way datagrams (heartbeats, membership probes and proofs), each for its recipient
    /// (<see cref="FrameSealer.SealFor"/>): a copy sent to one member never opens at another.
    /// </summary>
    public FrameSealer Unconnected { get; }

    /// <summary>A new random key.</summary>
    public static ClusterKey Generate() => new(RandomNumberGenerator.GetBytes(Length));

    /// <summary>Parses the text form (surrounding whitespace and a trailing newline are fine).</summary>
    public static bool TryParse(string? text, out ClusterKey? key, out string error)
    {
        key = null;
        var trimmed = text?.Trim() ?? string.Empty;
        if (!trimmed.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = $"a cluster key starts with \"{Prefix}\" (make one with `peerpatch keygen`)";
            return false;
        }

        var bytes = new byte[Length + 3];
        if (!Convert.TryFromBase64String(trimmed[Prefix.Length..], bytes, out var written) || written != Length)
        {
            error = $"a cluster key holds {Length} bytes in base64 after \"{Prefix}\"";
            return false;
        }

        key = new ClusterKey(bytes[..Length]);
        error = string.Empty;
        return true;
    }

    /// <summary>The text form, to write into a key file. It is the secret: keep it out of logs.</summary>
    public string Export() => Prefix + Convert.ToBase64String(_key);

    /// <summary>Never the secret.</summary>
    public override string ToString() => $"cluster {ClusterId}";

    /// <summary>
    /// The two directions' keys of one connection: both nonces are fresh per connection, so no frame of
    /// another connection (or another direction) opens under them.
    /// </summary>
    public (FrameSealer ClientToServer, FrameSealer ServerToClient) Session(ReadOnlySpan<byte> clientNonce, ReadOnlySpan<byte> serverNonce)
    {
        Span<byte> context = stackalloc byte[clientNonce.Length + serverNonce.Length];
        clientNonce.CopyTo(context);
        serverNonce.CopyTo(context[clientNonce.Length..]);
        return (new FrameSealer(Derive("peerpatch client to server", context)), new FrameSealer(Derive("peerpatch server to client", context)));
    }

    /// <summary>HMAC-SHA256 of <paramref name="data"/> under the key derived for HTTP request signatures.</summary>
    internal void SignHttp(ReadOnlySpan<byte> data, Span<byte> mac) => HMACSHA256.HashData(HttpKey, data, mac);

    private byte[] HttpKey => field ??= Derive("peerpatch http", []);

    private byte[] Derive(string label, ReadOnlySpan<byte> context)
    {
        var labelBytes = Encoding.ASCII.GetBytes(label);
        var input = new byte[labelBytes.Length + 1 + context.Length];
        labelBytes.CopyTo(input, 0);
        context.CopyTo(input.AsSpan(labelBytes.Length + 1)); // label, 0, context
        return HMACSHA256.HashData(_key, input);
    }
}
