namespace PeerPatch.Storage;

/// <summary>A node's latest compliance report as the server keeps it (see <see cref="PatchDatabase.SaveComplianceNode"/>).</summary>
/// <param name="ReportedAt">When the node's pass ended, by its clock; null when only known from another node's hand-over.</param>
/// <param name="LastSeen">When the server last heard of it, by the server's clock.</param>
public sealed record ComplianceNodeRow(
    string NodeId,
    string Hostname,
    string? Ring,
    string OsVersion,
    string? PassId,
    DateTimeOffset? ReportedAt,
    DateTimeOffset LastSeen,
    IReadOnlyList<CompliancePatchRow> Patches);

/// <summary>One patch's state in a node's latest report, and since when (server clock) it has been in that state.</summary>
public sealed record CompliancePatchRow(string PatchName, string State, string? Detail, DateTimeOffset Since);
