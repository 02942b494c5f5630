using PeerPatch.Node.Serving;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>
/// <see cref="IRingEvidence"/> kept in memory: the tests' way to say what ring 0 did (a node reads it from its
/// ComplianceBook). Thread-safe; the latest state per node, OS and patch wins.
/// </summary>
internal sealed class InMemoryRingEvidence : IRingEvidence
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, RingNode> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Node, string Os, string Patch), RingReport> _reports = [];

    public void Node(string nodeId, string? hostname, string? ring)
    {
        lock (_lock)
        {
            _nodes[nodeId] = new RingNode(nodeId, hostname, ring);
        }
    }

    public void Report(string nodeId, string os, string patch, bool applied, DateTimeOffset at)
    {
        lock (_lock)
        {
            _reports[(nodeId, os, patch)] = new RingReport(nodeId, os, patch, applied, at);
        }
    }

    public IReadOnlyList<RingNode> Nodes()
    {
        lock (_lock)
        {
            return [.. _nodes.Values];
        }
    }

    public IReadOnlyList<RingReport> Reports(IReadOnlySet<string> nodeIds)
    {
        lock (_lock)
        {
            return [.. _reports.Values.Where(r => nodeIds.Contains(r.NodeId))];
        }
    }
}
