using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PeerPatch.Protocol.Security;

/// <summary>
/// Authenticates one direction of traffic: a sealed frame is [0xA5][sequence, 8 bytes big-endian][payload][tag],
/// where the tag is the first 16 bytes of HMAC-SHA256 over everything before it. The payload is not encrypted
/// (patch names and hashes are not secret); what the tag proves is that a key holder sent exactly these bytes with
/// this sequence number. Freshness is the caller's: a <see cref="ReplayWindow"/> per sender, or a nonce.
/// Stateless and allocation-free: safe to share between threads.
/// </summary>
public sealed class FrameSealer
{
    /// <summary>First byte of every sealed frame (a MessagePack envelope starts with 0x94).</summary>
    public const byte Marker = 0xA5;

    /// <summary>Tag bytes (128-bit truncated HMAC-SHA256, as in RFC 4868's minimum).</summary>
    public const int TagLength = 16;

    /// <summary>Bytes a seal adds to a payload.</summary>
    public const int Overhead = 1 + 8 + TagLength;

    private readonly byte[] _key;

    internal FrameSealer(byte[] key) => _key = key;

    /// <summary>Writes the sealed frame of <paramref name="payload"/> into <paramref name="frame"/> (payload length + <see cref="Overhead"/> bytes).</summary>
    public int Seal(ulong sequence, ReadOnlySpan<byte> payload, Span<byte> frame)
    {
        var length = payload.Length + Overhead;
        if (frame.Length < length)
        {
            throw new ArgumentException($"a sealed frame needs {length} bytes", nameof(frame));
        }

        frame[0] = Marker;
        BinaryPrimitives.WriteUInt64BigEndian(frame[1..], sequence);
        payload.CopyTo(frame[9..]);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, frame[..(9 + payload.Length)], mac);
        mac[..TagLength].CopyTo(frame[(9 + payload.Length)..]);
        return length;
    }

    /// <summary>A new array holding the sealed frame (tests, tools and one-way datagrams).</summary>
    public byte[] Seal(ulong sequence, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[payload.Length + Overhead];
        Seal(sequence, payload, frame);
        return frame;
    }

    /// <summary>
    /// Checks a frame's tag in constant time. On success <paramref name="payload"/> is the payload's range within
    /// <paramref name="frame"/>. Never throws for bad input.
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> frame, out ulong sequence, out Range payload)
    {
        sequence = 0;
        payload = default;
        if (frame.Length < Overhead || frame[0] != Marker)
        {
            return false;
        }

        var signed = frame[..^TagLength];
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, signed, mac);
        if (!CryptographicOperations.FixedTimeEquals(mac[..TagLength], frame[^TagLength..]))
        {
            return false;
        }

        sequence = BinaryPrimitives.ReadUInt64BigEndian(frame[1..]);
        payload = 9..(frame.Length - TagLength);
        return true;
    }
}
