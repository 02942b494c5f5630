namespace PeerPatch.Diag;

/// <summary>One node's traffic counters (since it started), as `stats` shows them.</summary>
internal sealed record NodeTraffic(string NodeId, string Role, long InternetBytes, long LanBytesFetched, long LanBytesServed, long LanBytesPushed, long LanBytesReceived, long Applied);

/// <summary>
/// `stats`: per node and in total. <see cref="SavingsPercent"/> is the share of patch bytes the nodes got over the
/// LAN instead of the internet: fetched / (fetched + internet).
/// </summary>
internal sealed record TrafficReport(IReadOnlyList<NodeTraffic> Nodes, NodeTraffic Total, double SavingsPercent, int Unreachable)
{
    public static TrafficReport From(LanView lan)
    {
        var nodes = lan.Answering.Select(n => n.Status!).Select(s => new NodeTraffic(
            s.NodeId, s.Role, s.Stats.InternetBytes, s.Stats.LanBytesFetched, s.Stats.LanBytesServed, s.Stats.LanBytesPushed, s.Stats.LanBytesReceived, s.Stats.Applied)).ToList();
        var total = new NodeTraffic(
            "total", "",
            nodes.Sum(n => n.InternetBytes), nodes.Sum(n => n.LanBytesFetched), nodes.Sum(n => n.LanBytesServed),
            nodes.Sum(n => n.LanBytesPushed), nodes.Sum(n => n.LanBytesReceived), nodes.Sum(n => n.Applied));
        var moved = total.InternetBytes + total.LanBytesFetched;
        var savings = moved == 0 ? 0 : Math.Round(100.0 * total.LanBytesFetched / moved, 1);
        return new TrafficReport(nodes, total, savings, lan.Nodes.Count - nodes.Count);
    }
}
