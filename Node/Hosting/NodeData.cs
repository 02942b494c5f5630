using PeerPatch.Node.Primitives;
using PeerPatch.Protocol;
using PeerPatch.Storage;

namespace PeerPatch.Node.Hosting;

/// <summary>
/// The data directory, opened before anything listens: the exclusive lock, the database (migrated), the node id
/// (created once, then persisted) and the blob store after its start-up consistency pass.
/// </summary>
internal sealed class NodeData : IDisposable
{
    private NodeData(DataDirectoryLock dirLock, PatchDatabase db, BlobStore store, string nodeId, StartupReport report)
    {
        Lock = dirLock;
        Database = db;
        Store = store;
        NodeId = nodeId;
        Report = report;
    }

    public DataDirectoryLock Lock { get; }

    public PatchDatabase Database { get; }

    public BlobStore Store { get; }

    public string NodeId { get; }

    public StartupReport Report { get; }

    public static NodeData Open(CoreOptions options, IRandomSource random, TimeProvider time)
    {
        var dir = Path.GetFullPath(options.DataDir);
        var dirLock = DataDirectoryLock.Acquire(dir);
        try
        {
            var db = PatchDatabase.Open(Path.Combine(dir, "peerpatch.db"));
            var nodeId = db.GetMeta("node_id");
            if (!WireFormat.IsNodeId(nodeId))
            {
                nodeId = "n" + random.NextId().ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
                db.SetMeta("node_id", nodeId);
            }

            var capacity = options.CacheCapBytes > 0
                ? options.CacheCapBytes
                : new DriveInfo(dir).AvailableFreeSpace / 100 * options.CacheCapPercent;
            var store = new BlobStore(dir, db, new BlobStoreOptions { CapacityBytes = capacity }, time);
            var report = store.RecoverAtStartup();
            return new NodeData(dirLock, db, store, nodeId!, report);
        }
        catch
        {
            dirLock.Dispose();
            throw;
        }
    }

    public void Dispose() => Lock.Dispose();
}
