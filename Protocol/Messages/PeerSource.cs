using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>One place on the LAN a blob can be fetched from, as a lookup answer ranks them.</summary>
/// <param name="NodeId">The node that holds the blob (the server's own id when the server is the source).</param>
/// <param name="BlobUrl">The absolute http URL of the blob on that node (<see cref="Http.BlobUrl.On"/>).</param>
[MessagePackObject]
public sealed record PeerSource(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string BlobUrl)
{
    /// <summary>A node id and an absolute http(s) URL within the limits.</summary>
    public bool IsValid() =>
        WireFormat.IsNodeId(NodeId) && WireFormat.IsBlobUrl(BlobUrl) && !BlobUrl.StartsWith(Http.BlobUrl.Prefix, StringComparison.Ordinal);
}
