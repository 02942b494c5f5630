using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace PeerPatch.Protocol.Security;

/// <summary>
/// Authenticates one direction of traffic: a sealed frame is [0xA5][sequence, 8 bytes big-endian][payload][tag],
/// where the tag is the first 16 bytes of HMAC-SHA256 over everything before it. The payload is not encrypted
/// (patch names and hashes are not secret); what the tag proves is that a key holder sent exactly these bytes with
/// this sequence number. Freshness is the caller's: a <see cref="ReplayWindow"/> per sender, or a nonce.
/// A one-way datagram (no connection, so no per-connection key) is sealed <em>for</em> its recipient instead
/// (<see cref="SealFor(string, ulong, ReadOnlySpan{byte})"/>): [0xA6][sequence, 8 bytes][n][recipient node id, n ASCII
/// bytes][payload][tag]. The recipient is inside the tag, so a copy sent to one node opens as "for another node" at every
/// other one; a sender may then share one sequence counter among all its recipients, since each recipient's window sees
/// only the numbers meant for it.
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

    /// <summary>First byte of every frame sealed for one recipient (<see cref="SealFor(string, ulong, ReadOnlySpan{byte})"/>).</summary>
    public const byte AddressedMarker = 0xA6;

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

    /// <summary>Bytes a seal for <paramref name="recipient"/> adds to a payload.</summary>
    public static int AddressedOverhead(string recipient) => Overhead + 1 + recipient.Length;

    /// <summary>
    /// A new array holding <paramref name="payload"/> sealed for the node <paramref name="recipient"/> (a node id: 1-64
    /// of [A-Za-z0-9_-]); only <see cref="TryOpenFor"/> with that id opens it.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="recipient"/> is not a node id.</exception>
    public byte[] SealFor(string recipient, ulong sequence, ReadOnlySpan<byte> payload)
    {
        if (!WireFormat.IsNodeId(recipient))
        {
            throw new ArgumentException("a one-way frame is sealed for a node id", nameof(recipient));
        }

        var frame = new byte[payload.Length + AddressedOverhead(recipient)];
        frame[0] = AddressedMarker;
        BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(1), sequence);
        frame[9] = (byte)recipient.Length;
        Ascii.FromUtf16(recipient, frame.AsSpan(10, recipient.Length), out _); // a node id is ASCII (checked above)

        var start = 10 + recipient.Length;
        payload.CopyTo(frame.AsSpan(start));
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, frame.AsSpan(0, start + payload.Length), mac);
        mac[..TagLength].CopyTo(frame.AsSpan(start + payload.Length));
        return frame;
    }

    /// <summary>
    /// Opens a frame sealed for <paramref name="self"/>. The tag is checked first (in constant time), so only a key
    /// holder's frame can be reported as <see cref="AddressedOpenResult.ForAnotherNode"/> or
    /// <see cref="AddressedOpenResult.Unaddressed"/>. On <see cref="AddressedOpenResult.Opened"/>,
    /// <paramref name="payload"/> is the payload's range within <paramref name="frame"/>. Never throws for bad input.
    /// </summary>
    public AddressedOpenResult TryOpenFor(ReadOnlySpan<byte> frame, string self, out ulong sequence, out Range payload)
    {
        sequence = 0;
        payload = default;
        if (frame.Length > 0 && frame[0] == Marker)
        {
            // Sealed without a recipient: a one-way frame of a version before recipients were sealed in.
            return TryOpen(frame, out _, out _) ? AddressedOpenResult.Unaddressed : AddressedOpenResult.NotSealed;
        }

        if (frame.Length < Overhead + 1 || frame[0] != AddressedMarker)
        {
            return AddressedOpenResult.NotSealed;
        }

        var length = frame[9];
        var start = 10 + length;
        if (frame.Length < start + TagLength)
        {
            return AddressedOpenResult.NotSealed;
        }

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, frame[..^TagLength], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac[..TagLength], frame[^TagLength..]))
        {
            return AddressedOpenResult.NotSealed;
        }

        if (!Ascii.Equals(frame.Slice(10, length), self))
        {
            return AddressedOpenResult.ForAnotherNode;
        }

        sequence = BinaryPrimitives.ReadUInt64BigEndian(frame[1..]);
        payload = start..(frame.Length - TagLength);
        return AddressedOpenResult.Opened;
    }
}
