namespace PeerPatch.Protocol.Http;

/// <summary>Header names of the PeerPatch HTTP API.</summary>
public static class ApiHeaders
{
    /// <summary>The node id of the node making a request (pushes).</summary>
    public const string NodeId = "X-PeerPatch-Node";

    /// <summary>The HTTP port of the node making a request (inventory reports: where its blobs can be fetched).</summary>
    public const string HttpPort = "X-PeerPatch-Http";

    /// <summary>
    /// With a node's answer to a piece request for a blob it is still fetching (206, or 503 when it lacks the piece):
    /// the pieces it has verified so far (<see cref="PieceBitfield"/>).
    /// </summary>
    public const string PiecesHeld = "X-PeerPatch-Pieces";
}
