namespace PeerPatch.Node;

/// <summary>Header names of the PeerPatch HTTP API.</summary>
internal static class HttpHeaders
{
    /// <summary>The node id of the node making a request (pushes).</summary>
    public const string NodeId = "X-PeerPatch-Node";
}
