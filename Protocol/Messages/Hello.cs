using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>First message on a new connection: who the sender is.</summary>
/// <param name="NodeId">Stable id of the node (persisted in its data directory).</param>
/// <param name="InstanceId">Random per process start, so restarts are detected.</param>
/// <param name="OsVersion">The sender's OS version key.</param>
/// <param name="HttpPort">The sender's HTTP data-plane port.</param>
/// <param name="SoftwareVersion">The sender's build version, for diagnostics.</param>
[MessagePackObject]
public sealed record Hello(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string InstanceId,
    [property: Key(2)] string OsVersion,
    [property: Key(3)] int HttpPort,
    [property: Key(4)] string SoftwareVersion) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() =>
        WireFormat.IsNodeId(NodeId) && WireFormat.IsNodeId(InstanceId) && WireFormat.IsOsVersion(OsVersion)
        && HttpPort is > 0 and <= 65535 && WireFormat.IsDetail(SoftwareVersion);
}
