namespace PeerPatch.Protocol.Status;

/// <summary>
/// One transfer in progress on a node, as GET /v1/status lists it ("transfers"): a patch an update pass is on (a pass
/// obtains several at once, each listed), or a package the apt proxy is fetching through the LAN. A node lists at most <see cref="MaxListed"/>, oldest first;
/// <see cref="Patch"/> is escaped by the node and at most <see cref="MaxPatchChars"/> characters (and an ellipsis).
/// </summary>
/// <param name="Owner">"pass" or "proxy".</param>
/// <param name="Id">The pass id, or the number of the proxy fetch.</param>
/// <param name="Stage">lookup, lan, internet, waiting, verifying or applying.</param>
/// <param name="Bytes">Bytes moved so far in this stage (lan and internet).</param>
/// <param name="Total">The patch's size.</param>
public sealed record TransferStatus(string Owner, string Id, string Patch, string Stage, long Bytes, long Total)
{
    public const int MaxListed = 50;
    public const int MaxPatchChars = 200;
}
