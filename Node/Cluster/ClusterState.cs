using PeerPatch.Node.Hosting;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// Which node is the LAN server. Until zero-config election lands this comes from configuration:
/// role server (or auto with no --server) makes this node the server; otherwise --server names it.
/// </summary>
internal sealed class ClusterState(NodeOptions options)
{
    public NodeRole Role { get; } =
        options.Role == RoleSetting.Server || (options.Role == RoleSetting.Auto && options.Server is null) ? NodeRole.Server : NodeRole.Client;

    /// <summary>HOST:PORT of the server when this node is a client.</summary>
    public string? ServerAddress { get; } = options.Server;

    public bool IsServer => Role == NodeRole.Server;
}
