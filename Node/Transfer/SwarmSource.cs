namespace PeerPatch.Node.Transfer;

/// <summary>One LAN source of a blob for <see cref="SwarmFetcher"/>, as the server's lookup answer ranked it.</summary>
/// <param name="NodeId">The node that serves it (for logs).</param>
/// <param name="BlobUrl">The blob's absolute URL on that node.</param>
/// <param name="IsServer">The LAN server itself (its bytes are counted apart from other holders').</param>
internal sealed record SwarmSource(string NodeId, Uri BlobUrl, bool IsServer);
