using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>
/// What travels in one datagram: magic, version, a correlation id that pairs a reply with its request
/// (0 for one-way messages), and the body.
/// </summary>
[MessagePackObject]
public sealed record Envelope(
    [property: Key(0)] ushort Magic,
    [property: Key(1)] byte Version,
    [property: Key(2)] ulong CorrelationId,
    [property: Key(3)] IMessage Body)
{
    /// <summary>An envelope of this build's protocol version.</summary>
    public static Envelope Of(ulong correlationId, IMessage body) =>
        new(ProtocolLimits.Magic, ProtocolLimits.Version, correlationId, body);
}
