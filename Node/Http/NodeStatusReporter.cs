using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Transport;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Http;

/// <summary>Puts together this node's <see cref="NodeStatus"/> (GET /v1/status, and "self" in GET /v1/lan).</summary>
internal sealed class NodeStatusReporter(
    NodeIdentity self,
    ClusterState cluster,
    IServerChannelProvider servers,
    PatchDatabase db,
    BlobStore store,
    NodeStats stats,
    NodeEvents events,
    LanTransport transport,
    UpdateRunner runner,
    ProgressBoard transfers,
    HttpEndpointInfo http,
    NodeStartTime started,
    ClusterService membership,
    ClaimTable claims,
    HolderIndex holders,
    Security.ClusterAuth auth,
    TimeProvider time)
{
    public NodeStatus Current()
    {
        var now = time.GetUtcNow();
        var view = cluster.Current;
        return new NodeStatus(
            self.NodeId,
            self.InstanceId,
            self.SoftwareVersion,
            ProtocolLimits.Version,
            Environment.MachineName,
            view.Role == Protocol.Messages.NodeRole.Server ? "server" : "client",
            servers.Current?.Name,
            view.ServerId,
            view.Term,
            cluster.Elects,
            membership.Members.Count,
            self.OsVersion,
            db.CountPatches(),
            new BlobStatus(store.Count, store.TotalBytes, store.CapacityBytes, store.Evictions, holders.Count),
            Disk(store.Root),
            claims.Count,
            (long)(now - started.At).TotalSeconds,
            runner.Running,
            transport.LocalPort,
            http.Port,
            transport.PeerCount,
            membership.Mdns,
            new TrafficStats(
                stats.LanBytesServed, stats.LanBytesFetched, stats.LanBytesPushed, stats.LanBytesReceived, stats.InternetBytes,
                stats.Hits, stats.Misses, stats.InFlightAnswers, stats.PushesAccepted, stats.PushesRejected, stats.LanFailures,
                stats.ServerFallbacks, stats.CorruptBlobsDetected, stats.BadDatagrams, stats.Applied, stats.ProxyRefused,
                stats.BytesServedAsServer, stats.BytesServedAsPeer, stats.UploadsBusy, stats.BlobReadsRefused),
            stats.Elections,
            events.CountSince(NodeEventKinds.Election, now - TimeSpan.FromHours(1)),
            auth.Key?.ClusterId ?? string.Empty,
            runner.LastPass,
            transfers.Snapshot());
    }

    private static DiskStatus Disk(string path)
    {
        try
        {
            var drive = new DriveInfo(path);
            return new DiskStatus(drive.TotalSize, drive.AvailableFreeSpace);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return new DiskStatus(0, 0);
        }
    }
}
