using PeerPatch.Protocol.Messages;

namespace PeerPatch.Protocol;

/// <summary>Why a datagram was refused.</summary>
public enum DecodeError
{
    /// <summary>Decoded fine.</summary>
    None = 0,

    /// <summary>Zero bytes.</summary>
    Empty,

    /// <summary>Over <see cref="ProtocolLimits.MaxMessageBytes"/>.</summary>
    TooLarge,

    /// <summary>Not a MessagePack envelope of ours.</summary>
    Malformed,

    /// <summary>Another protocol version.</summary>
    VersionMismatch,

    /// <summary>Decoded, but a field is out of range or ill formed.</summary>
    Invalid,
}

/// <summary>The outcome of <see cref="WireCodec.TryDecode"/>: an envelope, or an error and its description.</summary>
public readonly record struct DecodeResult(Envelope? Envelope, DecodeError Error, string? Detail)
{
    /// <summary>True when <see cref="Envelope"/> is set and valid.</summary>
    public bool Success => Error == DecodeError.None;

    internal static DecodeResult Ok(Envelope envelope) => new(envelope, DecodeError.None, null);

    internal static DecodeResult Fail(DecodeError error, string detail) => new(null, error, detail);
}
