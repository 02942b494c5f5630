namespace PeerPatch.Diag;

/// <summary>One node's traffic counters (since it started), as `stats` shows them.</summary>
internal sealed record NodeTraffic(string NodeId, string Role, long InternetBytes, long LanBytesFetched, long LanBytesServed, long LanBytesPushed, long LanBytesReceived, long Applied,
    long ServedAsServer = 0, long ServedAsPeer = 0, long UploadsBusy = 0, long BlobReadsRefused = 0);

/// <summary>
/// `stats`: per node and in total. <see cref="SavingsPercent"/> is the share of patch bytes the nodes got over the
/// LAN instead of the internet: fetched / (fetched + internet). <see cref="PeerSharePercent"/> is the share of the
/// LAN's served blob bytes that came from peers rather than the server: as peer / (as peer + as server).
/// </summary>
internal sealed record TrafficReport(IReadOnlyList<NodeTraffic> Nodes, NodeTraffic Total, double SavingsPercent, int Unreachable, double PeerSharePercent = 0)
{
    public static TrafficReport From(LanView lan)
    {
        var nodes = lan.Answering.Select(n => n.Status!).Select(s => new NodeTraffic(
            s.NodeId, s.Role, s.Stats.InternetBytes, s.Stats.LanBytesFetched, s.Stats.LanBytesServed, s.Stats.LanBytesPushed, s.Stats.LanBytesReceived, s.Stats.Applied,
            s.Stats.BytesServedAsServer, s.Stats.BytesServedAsPeer, s.Stats.UploadsBusy, s.Stats.BlobReadsRefused)).ToList();
        var total = new NodeTraffic(
            "total", "",
            nodes.Sum(n => n.InternetBytes), nodes.Sum(n => n.LanBytesFetched), nodes.Sum(n => n.LanBytesServed),
            nodes.Sum(n => n.LanBytesPushed), nodes.Sum(n => n.LanBytesReceived), nodes.Sum(n => n.Applied),
            nodes.Sum(n => n.ServedAsServer), nodes.Sum(n => n.ServedAsPeer), nodes.Sum(n => n.UploadsBusy), nodes.Sum(n => n.BlobReadsRefused));
        var moved = total.InternetBytes + total.LanBytesFetched;
        var savings = moved == 0 ? 0 : Math.Round(100.0 * total.LanBytesFetched / moved, 1);
        var served = total.ServedAsServer + total.ServedAsPeer;
        var peerShare = served == 0 ? 0 : Math.Round(100.0 * total.ServedAsPeer / served, 1);
        return new TrafficReport(nodes, total, savings, lan.Nodes.Count - nodes.Count, peerShare);
    }
}
