using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Transport;
using PeerPatch.Storage;
using Prometheus;

namespace PeerPatch.Node.Http;

/// <summary>
/// GET /metrics in the Prometheus text format (prometheus-net): the counters and histograms of <see cref="NodeStats"/>,
/// HTTP request counts and durations, .NET process metrics, and gauges read at scrape time (role, term, peers,
/// members, store size, active claims, patches known).
/// </summary>
internal static class MetricsEndpoint
{
    public static void UseRequestMetrics(WebApplication app)
    {
        var stats = app.Services.GetRequiredService<NodeStats>();
        app.UseHttpMetrics(o => o.SetMetricFactory(NodeStats.Factory(stats.Registry)));
    }

    public static void Map(WebApplication app)
    {
        var sp = app.Services;
        var stats = sp.GetRequiredService<NodeStats>();
        var registry = stats.Registry;
        DotNetStats.Register(registry);
        var f = NodeStats.Factory(registry);
        var isServer = f.CreateGauge("peerpatch_is_server", "1 when this node is the LAN server.");
        var term = f.CreateGauge("peerpatch_term", "The election term of this node's current view.");
        var peers = f.CreateGauge("peerpatch_peers", "Open LiteNetLib connections.");
        var members = f.CreateGauge("peerpatch_members", "Other nodes this node knows through mDNS.");
        var blobBytes = f.CreateGauge("peerpatch_blob_store_bytes", "Bytes in the blob store.");
        var blobCount = f.CreateGauge("peerpatch_blob_store_blobs", "Blobs in the blob store.");
        var blobCap = f.CreateGauge("peerpatch_blob_store_capacity_bytes", "The blob store's cap (0: none).");
        var claims = f.CreateGauge("peerpatch_active_claims", "Download claims this server holds open.");
        var patches = f.CreateGauge("peerpatch_patches", "Patches in this node's database.");
        var compliance = f.CreateGauge("peerpatch_compliance_patches", "On the LAN server: (node, patch) pairs of fresh nodes by OS and state (applied, pending, failed, held), from the nodes' compliance reports.", ["os", "state"]);
        var staleNodes = f.CreateGauge("peerpatch_compliance_stale_nodes", "On the LAN server: nodes of an OS not heard from for ComplianceStaleAfter.", ["os"]);
        var book = sp.GetRequiredService<ComplianceBook>();
        var cluster = sp.GetRequiredService<ClusterState>();
        var membership = sp.GetRequiredService<ClusterService>();
        var transport = sp.GetRequiredService<LanTransport>();
        var store = sp.GetRequiredService<BlobStore>();
        var claimTable = sp.GetRequiredService<ClaimTable>();
        var db = sp.GetRequiredService<PatchDatabase>();
        registry.AddBeforeCollectCallback(() =>
        {
            var view = cluster.Current;
            isServer.Set(cluster.IsServer ? 1 : 0);
            term.Set(view.Term);
            peers.Set(transport.PeerCount);
            members.Set(membership.Members.Count);
            blobBytes.Set(store.TotalBytes);
            blobCount.Set(store.Count);
            blobCap.Set(store.CapacityBytes);
            claims.Set(claimTable.Count);
            patches.Set(db.CountPatches());
            ComplianceGauges(cluster.IsServer ? book.Counts() : [], compliance, staleNodes);
        });
        app.MapMetrics("/metrics", registry);
    }

    /// <summary>Per OS: the compliance <paramref name="counts"/>, zero for an OS no longer seen (and all zero off the server).</summary>
    private static void ComplianceGauges(IReadOnlyList<ComplianceCounts> counts, Gauge pairs, Gauge stale)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in counts)
        {
            seen.Add(c.Os);
            pairs.WithLabels(c.Os, "applied").Set(c.Applied);
            pairs.WithLabels(c.Os, "pending").Set(c.Pending);
            pairs.WithLabels(c.Os, "failed").Set(c.Failed);
            pairs.WithLabels(c.Os, "held").Set(c.Held);
            stale.WithLabels(c.Os).Set(c.StaleNodes);
        }

        foreach (var labels in pairs.GetAllLabelValues().Where(l => !seen.Contains(l[0])).ToList())
        {
            pairs.WithLabels(labels).Set(0);
        }

        foreach (var labels in stale.GetAllLabelValues().Where(l => !seen.Contains(l[0])).ToList())
        {
            stale.WithLabels(labels).Set(0);
        }
    }
}
