
namespace PeerPatch.Node.Primitives;

/// <summary>Where this node's HTTP data plane listens (told to peers in HelloAck).</summary>
internal sealed class HttpEndpointInfo(CoreOptions options)
{
    public int Port { get; } = options.HttpPort;
}
