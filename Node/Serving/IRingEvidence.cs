namespace PeerPatch.Node.Serving;

/// <summary>
/// What the server knows of the nodes' patch states, for ring 0's record (the compliance store answers it; at merge an
/// adapter over its reports implements this): the nodes that reported, and their latest applied/failed states.
/// </summary>
internal interface IRingEvidence
{
    /// <summary>Every node the server has a report from: id, hostname, its own Ring setting (null: none).</summary>
    IReadOnlyList<RingNode> Nodes();

    /// <summary>
    /// For the nodes named, each one's latest state of every patch it applied or failed (one entry per node, OS and
    /// patch; pending and held patches are not listed): when it applied it, or when it last failed it.
    /// </summary>
    IReadOnlyList<RingReport> Reports(IReadOnlySet<string> nodeIds);
}

/// <summary>A node as its reports name it.</summary>
internal sealed record RingNode(string NodeId, string? Hostname, string? Ring);

/// <summary>One node's latest state of one patch: applied (true) or failed (false), at <paramref name="At"/>.</summary>
internal sealed record RingReport(string NodeId, string Os, string Patch, bool Applied, DateTimeOffset At);
