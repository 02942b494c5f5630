using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>
/// The server is alive (sent every few hundred milliseconds to every member, one-way, correlation id 0).
/// Carries what an election compares: term, priority and start time.
/// </summary>
[MessagePackObject]
public sealed record Heartbeat(
    [property: Key(0)] string ServerId,
    [property: Key(1)] long Term,
    [property: Key(2)] int Priority,
    [property: Key(3)] long Since,
    [property: Key(4)] int HttpPort) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() => WireFormat.IsNodeId(ServerId) && Term >= 0 && Since >= 0 && HttpPort is > 0 and <= 65535;
}
