using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Storage;

/// <summary>A cache capped at a share of the room gives room back when the disk fills with other files.</summary>
public sealed partial class BlobStoreTests
{
    [RootFact] // mounting a tmpfs needs root
    public async Task DiskFillingWithOtherFiles_ShrinksAPercentCap_AndTrimEvictsTheLeastRecentlyUsed_SparingRecentOnes()
    {
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "64m", "disk");
        var store = new BlobStore(disk.Path, PatchDatabase.Open(Path.Combine(disk.Path, "peerpatch.db")), new BlobStoreOptions { CapacityPercent = 20 }, _time);
        store.RecoverAtStartup();
        var blobs = Enumerable.Range(1, 5).Select(i => Bytes(2_000_000, i)).ToArray();
        foreach (var b in blobs)
        {
            _time.Advance(TimeSpan.FromMinutes(5)); // stored (and last used) 5 minutes apart, the first one oldest
            Assert.Equal(BlobWriteStatus.Stored, (await store.WriteAsync(new MemoryStream(b), Sha(b), b.Length, long.MaxValue, default)).Status);
        }

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal((0, 0L), store.TrimToCapacity(TimeSpan.Zero)); // 10 MB held, within 20 % of about 64 MB

        // The user's files fill the disk: the room is now the 10 MB held, the cap 2 MB.
        Tmpfs.Fill(Path.Combine(disk.Path, "user-files"));
        Assert.InRange(store.CapacityBytes, 1, 2_100_000);

        // Blobs used in the last 10 minutes (the last two: 1 and 6 minutes ago) are spared; the three before go.
        var (evicted, bytes) = store.TrimToCapacity(TimeSpan.FromMinutes(10));
        Assert.Equal((3, 6_000_000L), (evicted, bytes));
        Assert.Equal([false, false, false, true, true], blobs.Select(b => store.Contains(Sha(b))));
        Assert.False(File.Exists(store.PathFor(Sha(blobs[0]))));
        Assert.Equal(3, store.Evictions);

        // Later, with nothing in use: least recently used first, down to the cap (about 2 MB of the 10 MB room: the
        // newest blob stays when the file system's own blocks leave the room at 10 MB or more).
        _time.Advance(TimeSpan.FromMinutes(30));
        var cap = store.CapacityBytes;
        var (later, _) = store.TrimToCapacity(TimeSpan.FromMinutes(10));
        Assert.False(store.Contains(Sha(blobs[3])));
        Assert.Equal(store.Contains(Sha(blobs[4])) ? 1 : 2, later);
        Assert.True(store.TotalBytes <= cap, $"{store.TotalBytes} held over a cap of {cap}");
    }
}
