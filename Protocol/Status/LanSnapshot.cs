namespace PeerPatch.Protocol.Status;

/// <summary>
/// GET /v1/lan: what one node can see of the whole LAN: its own status and, for each member it knows, that member's
/// status fetched over the LAN just now (or why it could not be). With ?history=1, <see cref="History"/> is the sum
/// of every answering node's <see cref="HistorySample"/>s (self included), aligned by time.
/// </summary>
public sealed record LanSnapshot(DateTimeOffset At, NodeStatus Self, IReadOnlyList<LanNode> Nodes, IReadOnlyList<HistorySample>? History);

/// <summary>One member in a <see cref="LanSnapshot"/>: <see cref="Status"/> is null when it did not answer (see <see cref="Error"/>).</summary>
public sealed record LanNode(MemberStatus Member, NodeStatus? Status, string? Error);
