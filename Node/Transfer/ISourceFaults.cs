namespace PeerPatch.Node.Transfer;

/// <summary>
/// Where a fetch tells of a LAN source that proved wrong for a blob (<see cref="Protocol.Status.SourceFault"/>): the
/// node hands it to its server, which stops listing that source for that blob. Only proof counts: bytes or a piece
/// list that failed their hashes, or a 404 from a holder the server had listed; never a stall or a reset, which a busy
/// or briefly unreachable PC causes without being wrong. Must not block: a fetch calls it inside its piece loop.
/// </summary>
internal interface ISourceFaults
{
    void Report(string sha256, string nodeId, string kind);
}
