using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Storage;

/// <summary>
/// A store that starts over its cap on a disk with no free block (found by CI: a node SIGKILLed while its data disk
/// filled up could not start again; "SQLite Error 13: 'database or disk is full'" out of the start-up eviction).
/// </summary>
public sealed partial class BlobStoreTests
{
    [RootFact] // mounting a tmpfs needs root
    public async Task StartingOverItsCapOnAFullDisk_EvictsDownToTheCap_InsteadOfThrowing()
    {
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "16m", "disk");
        var dbPath = Path.Combine(disk.Path, "peerpatch.db");
        var blobs = Enumerable.Range(1, 3).Select(i => Bytes(2_000_000, i)).ToArray();
        var store = new BlobStore(disk.Path, PatchDatabase.Open(dbPath), new BlobStoreOptions(), _time);
        store.RecoverAtStartup();
        foreach (var b in blobs)
        {
            _time.Advance(TimeSpan.FromMinutes(1)); // the first blob is the least recently used
            Assert.Equal(BlobWriteStatus.Stored, (await store.WriteAsync(new MemoryStream(b), Sha(b), b.Length, long.MaxValue, default)).Status);
        }

        var filler = Path.Combine(disk.Path, "filler");
        Tmpfs.Fill(filler);

        // Started again with a cap that holds one blob (an admin lowered CacheCapBytes) on the full disk.
        var reopened = new BlobStore(disk.Path, PatchDatabase.Open(dbPath), new BlobStoreOptions { CapacityBytes = 2_500_000 }, _time);
        var report = reopened.RecoverAtStartup();

        Assert.Equal(1, report.BlobsKept);
        Assert.True(reopened.Contains(Sha(blobs[2])));
        Assert.Equal(blobs[2], await File.ReadAllBytesAsync(reopened.PathFor(Sha(blobs[2]))));
        Assert.False(File.Exists(reopened.PathFor(Sha(blobs[0]))));
        Assert.False(File.Exists(reopened.PathFor(Sha(blobs[1]))));

        // With room on the disk again, the database holds the one blob the files hold.
        File.Delete(filler);
        var db = PatchDatabase.Open(dbPath);
        var again = new BlobStore(disk.Path, db, new BlobStoreOptions(), _time);
        again.RecoverAtStartup();
        Assert.Equal([Sha(blobs[2])], db.ListBlobs().Select(b => b.Sha256));
        Assert.Equal(1, again.Count);
    }

    [RootFact] // mounting a tmpfs needs root
    public async Task OnAFullDisk_ABlobNotUsedForAMinute_StillOpensAndVerifies()
    {
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "16m", "disk");
        var store = new BlobStore(disk.Path, PatchDatabase.Open(Path.Combine(disk.Path, "peerpatch.db")), new BlobStoreOptions(), _time);
        store.RecoverAtStartup();
        var blob = Bytes(2_000_000, 1);
        Assert.Equal(BlobWriteStatus.Stored, (await store.WriteAsync(new MemoryStream(blob), Sha(blob), blob.Length, long.MaxValue, default)).Status);

        // The user's files fill the disk (what CacheTrimmer is there for); a minute later a pass verifies the blob to
        // apply it, or a peer asks for it: recording when it was used needs a database write, which has no room.
        Tmpfs.Fill(Path.Combine(disk.Path, "user-files"));
        _time.Advance(TimeSpan.FromMinutes(2));

        using (var stream = store.OpenRead(Sha(blob)))
        {
            Assert.NotNull(stream);
        }

        Assert.True(await store.VerifyAsync(Sha(blob), default));
    }
}
