using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Storage;

public sealed class CacheCapRuleTests
{
    [Fact]
    public void Cap_IsTheShareOfFreeSpacePlusWhatTheCacheHolds()
    {
        Assert.Equal(20_000_000, BlobStoreOptions.CapFor(freeBytes: 100_000_000, heldBytes: 0, percent: 20));
        Assert.Equal(20_000_000, BlobStoreOptions.CapFor(freeBytes: 70_000_000, heldBytes: 30_000_000, percent: 20));
    }

    [Fact]
    public void StoringABlob_DoesNotShrinkTheCap()
    {
        // Storing 30 MB moves 30 MB from free to held: the room, and so the cap, stay the same (the old rule, 20 % of
        // the free space at start, shrank a cache that had filled up to its cap at every restart).
        Assert.Equal(
            BlobStoreOptions.CapFor(freeBytes: 200_000_000, heldBytes: 0, percent: 20),
            BlobStoreOptions.CapFor(freeBytes: 170_000_000, heldBytes: 30_000_000, percent: 20));
    }

    [Fact]
    public void OnAFullDisk_TheCapIsNeverZero_WhichWouldMeanNoCap()
    {
        Assert.Equal(1, BlobStoreOptions.CapFor(freeBytes: 0, heldBytes: 0, percent: 20));
        Assert.Equal(1, BlobStoreOptions.CapFor(freeBytes: -5, heldBytes: 0, percent: 20));
        Assert.Equal(6_000_000, BlobStoreOptions.CapFor(freeBytes: 0, heldBytes: 30_000_000, percent: 20));
    }

    [Fact]
    public void APercentCap_FollowsTheDisk_AndAFixedCapWins()
    {
        using var dir = new Support.TempDir();
        var db = PatchDatabase.Open(Path.Combine(dir.Path, "peerpatch.db"));
        var percent = new BlobStore(dir.Path, db, new BlobStoreOptions { CapacityPercent = 20 }, TimeProvider.System);
        var fixedCap = new BlobStore(dir.Path, db, new BlobStoreOptions { CapacityBytes = 12345, CapacityPercent = 20 }, TimeProvider.System);
        var none = new BlobStore(dir.Path, db, new BlobStoreOptions(), TimeProvider.System);

        var before = new DriveInfo(dir.Path).AvailableFreeSpace;
        var cap = percent.CapacityBytes;
        var after = new DriveInfo(dir.Path).AvailableFreeSpace;
        const long Slack = 256L << 20; // tests running beside this one write to the same disk
        Assert.InRange(cap, BlobStoreOptions.CapFor(Math.Min(before, after) - Slack, 0, 20), BlobStoreOptions.CapFor(Math.Max(before, after) + Slack, 0, 20));
        Assert.Equal(12345, fixedCap.CapacityBytes);
        Assert.Equal(0, none.CapacityBytes);
    }
}
