using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>The server's answer to <see cref="Hello"/>: who it is and where its HTTP data plane listens.</summary>
[MessagePackObject]
public sealed record HelloAck(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string InstanceId,
    [property: Key(2)] NodeRole Role,
    [property: Key(3)] int HttpPort,
    [property: Key(4)] string SoftwareVersion) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() =>
        WireFormat.IsNodeId(NodeId) && WireFormat.IsNodeId(InstanceId) && Enum.IsDefined(Role)
        && HttpPort is > 0 and <= 65535 && WireFormat.IsDetail(SoftwareVersion);
}
