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
        app.UseHttpMetrics(o => o.SetMetricFactory(Metrics.WithCustomRegistry(stats.Registry)));
    }

    public static void Map(WebApplication app)
    {
        var sp = app.Services;
        var stats = sp.GetRequiredService<NodeStats>();
        var registry = stats.Registry;
        DotNetStats.Register(registry);
        var f = Metrics.WithCustomRegistry(registry);
        var isServer = f.CreateGauge("peerpatch_is_server", "1 when this node is the LAN server.");
        var term = f.CreateGauge("peerpatch_term", "The election term of this node's current view.");
        var peers = f.CreateGauge("peerpatch_peers", "Open LiteNetLib connections.");
        var members = f.CreateGauge("peerpatch_members", "Other nodes this node knows through mDNS.");
        var blobBytes = f.CreateGauge("peerpatch_blob_store_bytes", "Bytes in the blob store.");
        var blobCount = f.CreateGauge("peerpatch_blob_store_blobs", "Blobs in the blob store.");
        var blobCap = f.CreateGauge("peerpatch_blob_store_capacity_bytes", "The blob store's cap (0: none).");
        var claims = f.CreateGauge("peerpatch_active_claims", "Download claims this server holds open.");
        var patches = f.CreateGauge("peerpatch_patches", "Patches in this node's database.");
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
            blobCap.Set(store.Options.CapacityBytes);
            claims.Set(claimTable.Count);
            patches.Set(db.CountPatches());
        });
        app.MapMetrics("/metrics", registry);
    }
}
