using PeerPatch.Protocol;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Serving;

/// <summary>
/// A node's report of LAN sources that proved wrong (<see cref="SourceFault"/>), taken in by the server: from another
/// node (POST /v1/sources/faults) or from its own pass. Each well-formed fault, at most <see cref="SourceFault.MaxPerReport"/>,
/// goes to <see cref="SourceTable.ReportFault"/>; an accused taken off a blob's list there is dropped for that blob
/// from <see cref="HolderIndex"/> too (not pulled from, nor named for it while the server lacks the blob).
/// </summary>
internal static class SourceFaultIntake
{
    /// <param name="alone">The server's own pass: its word alone suffices.</param>
    /// <returns>The faults that took a holder off a list now.</returns>
    public static List<SourceFault> Apply(SourceTable sources, HolderIndex holders, string reporterId, IEnumerable<SourceFault?> faults, DateTimeOffset now, bool alone = false)
    {
        var unlisted = new List<SourceFault>();
        foreach (var fault in faults.Take(SourceFault.MaxPerReport))
        {
            if (fault is { Sha256: { } sha, NodeId: { } accused, Kind: { } kind } && WireFormat.IsSha256(sha) && WireFormat.IsNodeId(accused)
                && SourceFault.Kinds.Contains(kind) && sources.ReportFault(sha, reporterId, accused, kind == SourceFault.Gone, now, alone))
            {
                unlisted.Add(fault);
                if (sources.HttpBaseOf(accused) is { } holder)
                {
                    holders.Drop(sha, holder);
                }
            }
        }

        return unlisted;
    }
}
