using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Cluster;

/// <summary>Who the server is, as this node sees it now. Immutable; replaced as a whole.</summary>
/// <param name="ServerAddress">HOST:UDPPORT of the server when this node is a client; null during an election.</param>
internal sealed record ClusterView(NodeRole Role, long Term, string? ServerId, string? ServerAddress);
