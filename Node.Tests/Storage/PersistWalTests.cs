using Microsoft.Data.Sqlite;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Storage;

public sealed class PersistWalTests
{
    [Fact]
    public void AfterEveryConnectionCloses_TheWalAndShmFilesStay_AndTheDatabaseReopensWithItsData()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "peerpatch.db");
        var db = PatchDatabase.Open(path);
        db.SetMeta("k", "v1");
        Assert.True(File.Exists(path + "-wal"));

        SqliteConnection.ClearAllPools(); // closes the last connection: a clean stop

        // Without SQLITE_FCNTL_PERSIST_WAL SQLite deletes both here, and a restart on a full disk cannot create them.
        Assert.True(File.Exists(path + "-wal"), "the -wal file was deleted at close");
        Assert.True(File.Exists(path + "-shm"), "the -shm file was deleted at close");

        var reopened = PatchDatabase.Open(path);
        Assert.Equal("v1", reopened.GetMeta("k"));
        Assert.Equal("wal", reopened.JournalMode());
        Assert.Equal("ok", reopened.IntegrityCheck());
        reopened.SetMeta("k", "v2");
        SqliteConnection.ClearAllPools();
        Assert.Equal("v2", PatchDatabase.Open(path).GetMeta("k"));
    }
}
