using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Serving;

/// <summary>
/// The compliance records as the policy's ring-0 rule reads them: every node that reported (with its hostname and
/// Ring setting), and for the nodes asked about, each patch they applied or failed, and since when (the server's
/// time of the first report in that state).
/// </summary>
internal sealed partial class ComplianceBook : IRingEvidence
{
    IReadOnlyList<RingNode> IRingEvidence.Nodes() =>
        [.. Snapshot().Select(n => new RingNode(n.NodeId, n.Hostname, n.Ring))];

    IReadOnlyList<RingReport> IRingEvidence.Reports(IReadOnlySet<string> nodeIds) =>
        [.. Snapshot()
            .Where(n => nodeIds.Contains(n.NodeId))
            .SelectMany(n => n.Patches
                .Where(p => p.State is ComplianceStates.Applied or ComplianceStates.Failed)
                .Select(p => new RingReport(n.NodeId, n.OsVersion, p.PatchName, p.State == ComplianceStates.Applied, p.Since)))];
}
