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
            var db = OpenDatabase(dir);
            var nodeId = db.GetMeta("node_id");
            if (!WireFormat.IsNodeId(nodeId))
            {
                nodeId = "n" + random.NextId().ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
                db.SetMeta("node_id", nodeId);
            }

            // A fixed cap, or CacheCapPercent of the room the cache has (free space + what it holds), measured again
            // whenever the store asks: a node started on a full disk still caps its cache once the disk has room.
            var capacity = new BlobStoreOptions { CapacityBytes = options.CacheCapBytes, CapacityPercent = options.CacheCapPercent };
            var store = new BlobStore(dir, db, capacity, time);
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

    /// <summary>
    /// The free bytes on the data disk and the reserve the store keeps (below it nothing new is stored); null when
    /// the disk cannot be measured.
    /// </summary>
    public static (long Free, long Reserve)? DiskRoom(string dir, BlobStoreOptions store)
    {
        try
        {
            return store.RoomOn(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// Opens the database. The -wal and -shm files are kept across a clean stop (PatchDatabase), so a full disk does
    /// not stop this; when they are missing too (deleted by hand, or last closed by a version that removed them),
    /// SQLite cannot create them on a full disk, and this says so instead of a bare 'disk I/O error'.
    /// </summary>
    private static PatchDatabase OpenDatabase(string dir)
    {
        var path = Path.Combine(dir, "peerpatch.db");
        try
        {
            return PatchDatabase.Open(path);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (DiskRoom(dir, new BlobStoreOptions()) is { } room && room.Free < room.Reserve)
        {
            throw new DataDiskFullException(
                $"the data disk is full ({room.Free} bytes free in {dir}): SQLite cannot open {path} ({e.Message}); " +
                "free some space on that disk and start the node again (nothing was lost)", e);
        }
    }
}
