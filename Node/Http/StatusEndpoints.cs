using Microsoft.AspNetCore.Builder;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Transport;
using PeerPatch.Node.Updating;
using PeerPatch.Storage;

namespace PeerPatch.Node.Http;

/// <summary>GET /v1/status: who this node is, its role and server, its store and its counters.</summary>
internal static class StatusEndpoints
{
    public static void Map(WebApplication app) => app.MapGet("/v1/status", (
        NodeIdentity self,
        ClusterState cluster,
        IServerChannelProvider servers,
        PatchDatabase db,
        BlobStore store,
        NodeStats stats,
        LanTransport transport,
        UpdateRunner runner,
        HttpEndpointInfo http,
        NodeStartTime started,
        ClusterService membership,
        Serving.ClaimTable claims,
        Serving.HolderIndex holders,
        TimeProvider time) => new StatusJson(
            self.NodeId,
            self.InstanceId,
            self.SoftwareVersion,
            cluster.IsServer ? "server" : "client",
            servers.Current?.Name,
            cluster.Current.ServerId,
            cluster.Current.Term,
            cluster.Elects,
            membership.Members.Count,
            self.OsVersion,
            db.CountPatches(),
            new BlobsJson(store.Count, store.TotalBytes, store.Options.CapacityBytes, store.Evictions, holders.Count),
            claims.Count,
            (long)(time.GetUtcNow() - started.At).TotalSeconds,
            runner.Running,
            transport.LocalPort,
            http.Port,
            transport.PeerCount,
            membership.Mdns,
            new StatsJson(
                stats.LanBytesServed, stats.LanBytesFetched, stats.InternetBytes, stats.Hits, stats.Misses, stats.InFlightAnswers,
                stats.PushesAccepted, stats.PushesRejected, stats.LanFailures, stats.ServerFallbacks, stats.CorruptBlobsDetected, stats.BadDatagrams)));

    internal sealed record StatusJson(
        string NodeId, string InstanceId, string Version, string Role, string? Server, string? ServerId, long Term, bool Elected, int Members, string Os, long Patches, BlobsJson Blobs, int ActiveClaims,
        long UptimeSeconds, bool UpdateRunning, int UdpPort, int HttpPort, int Peers, MdnsCounters Mdns, StatsJson Stats);

    /// <param name="HeldElsewhere">Blobs other nodes reported that this server has not pulled yet.</param>
    internal sealed record BlobsJson(int Count, long Bytes, long CapacityBytes, long Evictions, int HeldElsewhere);

    internal sealed record StatsJson(
        long LanBytesServed, long LanBytesFetched, long InternetBytes, long Hits, long Misses, long InFlight,
        long PushesAccepted, long PushesRejected, long LanFailures, long ServerFallbacks, long CorruptBlobsDetected, long BadDatagrams);
}
