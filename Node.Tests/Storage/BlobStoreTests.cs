using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Storage;

public sealed partial class BlobStoreTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task RightBytes_AreStoredUnderTheirHash_AndRecorded()
    {
        var (store, db) = Open();
        var bytes = Bytes(300_000, 1);

        var result = await store.WriteAsync(new MemoryStream(bytes), Sha(bytes), bytes.Length, long.MaxValue, default);

        Assert.Equal(BlobWriteStatus.Stored, result.Status);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(store.PathFor(Sha(bytes))));
        Assert.Equal(Sha(bytes), Assert.Single(db.ListBlobs()).Sha256);
        Assert.Empty(Directory.GetFiles(store.TempDirectory));
    }

    [Fact]
    public async Task WrongBytes_AreRefused_AndLeaveNothing()
    {
        var (store, db) = Open();
        var bytes = Bytes(300_000, 1);

        var result = await store.WriteAsync(new MemoryStream(bytes), Sha(Bytes(300_000, 2)), bytes.Length, long.MaxValue, default);

        Assert.Equal(BlobWriteStatus.HashMismatch, result.Status);
        AssertEmpty(store, db);
    }

    [Fact]
    public async Task MoreBytesThanDeclared_AreRefused_AndLeaveNothing()
    {
        var (store, db) = Open();
        var bytes = Bytes(300_000, 1);

        var result = await store.WriteAsync(new MemoryStream(bytes), Sha(bytes), 100_000, long.MaxValue, default);

        Assert.Equal(BlobWriteStatus.TooLarge, result.Status);
        AssertEmpty(store, db);
    }

    [Fact]
    public async Task FewerBytesThanDeclared_AreRefused_AndLeaveNothing()
    {
        var (store, db) = Open();
        var bytes = Bytes(300_000, 1);

        var result = await store.WriteAsync(new MemoryStream(bytes), Sha(bytes), 400_000, long.MaxValue, default);

        Assert.Equal(BlobWriteStatus.SizeMismatch, result.Status);
        AssertEmpty(store, db);
    }

    [Fact]
    public async Task SourceFailingMidway_LeavesNothing()
    {
        var (store, db) = Open();

        var result = await store.WriteAsync(new FailingStream(200_000), Sha(Bytes(10, 1)), 400_000, long.MaxValue, default);

        Assert.Equal(BlobWriteStatus.SourceFailed, result.Status);
        AssertEmpty(store, db);
    }

    [Fact]
    public async Task StartupPass_RemovesTempFiles_DropsMissingOrWrongSizedBlobs_AndOrphans()
    {
        var (store, db) = Open();
        var kept = Bytes(1000, 1);
        var missing = Bytes(1000, 2);
        var truncated = Bytes(1000, 3);
        foreach (var b in new[] { kept, missing, truncated })
        {
            await using var writer = store.BeginWrite(Sha(b), b.Length, b.Length);
            writer.Patch = new PatchRecord("os-1", "p" + Sha(b)[..6], Sha(b), b.Length, null, _time.GetUtcNow(), "n1", 0, null);
            await writer.WriteAsync(b, default);
            Assert.Equal(BlobWriteStatus.Stored, (await writer.CommitAsync(default)).Status);
        }

        File.Delete(store.PathFor(Sha(missing)));
        File.SetUnixFileMode(store.PathFor(Sha(truncated)), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllBytes(store.PathFor(Sha(truncated)), truncated[..500]);
        File.WriteAllText(Path.Combine(store.TempDirectory, "half.part"), "partial");
        var orphan = Bytes(100, 4);
        Directory.CreateDirectory(Path.GetDirectoryName(store.PathFor(Sha(orphan)))!);
        File.WriteAllBytes(store.PathFor(Sha(orphan)), orphan);

        var reopened = new BlobStore(_dir.Path, db, new BlobStoreOptions(), _time);
        var report = reopened.RecoverAtStartup();

        Assert.Equal(1, report.TempFilesRemoved);
        Assert.Equal(2, report.MissingOrWrongBlobsDropped);
        Assert.Equal(1, report.OrphanFilesRemoved);
        Assert.Equal(1, report.BlobsKept);
        Assert.True(reopened.Contains(Sha(kept)));
        Assert.Equal(Sha(kept), Assert.Single(db.ListPatches()).Sha256);
        Assert.False(File.Exists(store.PathFor(Sha(orphan))));
    }

    [Fact]
    public async Task ABlobMarkedInUseMomentsAgo_SurvivesAStoreThatNeedsItsRoom_AndGoesOnceTheSpareHasPassed()
    {
        var (store, _) = Open(capacity: 2500);
        var a = Bytes(1000, 1);
        var b = Bytes(1000, 2);
        var c = Bytes(2000, 3);
        await store.WriteAsync(new MemoryStream(a), Sha(a), a.Length, long.MaxValue, default);
        _time.Advance(TimeSpan.FromMinutes(5));
        await store.WriteAsync(new MemoryStream(b), Sha(b), b.Length, long.MaxValue, default);
        _time.Advance(TimeSpan.FromMinutes(20));
        store.MarkInUse(Sha(a), "debian-12-amd64/kb-a"); // a pass is about to verify and apply it
        _time.Advance(TimeSpan.FromSeconds(30));

        // Another download lands meanwhile and needs room: before, a went too (the store kept only the new blob).
        await store.WriteAsync(new MemoryStream(c), Sha(c), c.Length, long.MaxValue, default);

        Assert.True(store.Contains(Sha(a)));
        Assert.True(File.Exists(store.PathFor(Sha(a))));
        Assert.False(store.Contains(Sha(b)));
        Assert.True(store.Contains(Sha(c)));
        Assert.Equal(3000, store.TotalBytes); // over the cap of 2500 while a is in use

        // Past the spare (10 min) a is evicted like any other blob at the next store.
        _time.Advance(BlobStore.InUseSpare);
        var d = Bytes(500, 4);
        await store.WriteAsync(new MemoryStream(d), Sha(d), d.Length, long.MaxValue, default);
        Assert.False(store.Contains(Sha(a)));
        Assert.True(store.TotalBytes <= 2500, $"{store.TotalBytes}");
    }

    [Fact]
    public async Task ABlobWhoseUseEnded_IsEvictedAtTheNextStoreThatNeedsItsRoom()
    {
        var (store, _) = Open(capacity: 2500);
        var a = Bytes(1000, 1);
        var b = Bytes(2000, 2);
        await store.WriteAsync(new MemoryStream(a), Sha(a), a.Length, long.MaxValue, default);
        store.MarkInUse(Sha(a), "debian-12-amd64/kb-a");
        _time.Advance(TimeSpan.FromSeconds(30));
        store.EndUse(Sha(a), "debian-12-amd64/kb-a"); // applied: the pass is done with it

        await store.WriteAsync(new MemoryStream(b), Sha(b), b.Length, long.MaxValue, default);

        Assert.False(store.Contains(Sha(a))); // pass after pass, the cache stays within its cap
        Assert.True(store.TotalBytes <= 2500, $"{store.TotalBytes}");
    }

    [Fact]
    public async Task ABlobTwoPatchesOfAPassShare_StaysInUseUntilBothAreDone()
    {
        var (store, _) = Open(capacity: 2500);
        var a = Bytes(1000, 1);
        var b = Bytes(2000, 2);
        var c = Bytes(2000, 3);
        await store.WriteAsync(new MemoryStream(a), Sha(a), a.Length, long.MaxValue, default);
        store.MarkInUse(Sha(a), "debian-12-amd64/kb-first"); // one installer listed under two patch names
        store.MarkInUse(Sha(a), "debian-12-amd64/kb-second");
        _time.Advance(TimeSpan.FromSeconds(30));
        store.EndUse(Sha(a), "debian-12-amd64/kb-first"); // the first is applied; the second is still to come

        await store.WriteAsync(new MemoryStream(b), Sha(b), b.Length, long.MaxValue, default);
        Assert.True(store.Contains(Sha(a)), "the second patch's blob was evicted when the first patch was done with it");

        store.EndUse(Sha(a), "debian-12-amd64/kb-second");
        await store.WriteAsync(new MemoryStream(c), Sha(c), c.Length, long.MaxValue, default);
        Assert.False(store.Contains(Sha(a)));
        Assert.True(store.TotalBytes <= 2500, $"{store.TotalBytes}");
    }

    [Fact]
    public async Task ABlobOnlyServed_IsNotSparedAtAStore_SoPushesAndReadsCannotKeepTheStoreOverItsCap()
    {
        var (store, _) = Open(capacity: 2500);
        var a = Bytes(1000, 1);
        var b = Bytes(2000, 2);
        await store.WriteAsync(new MemoryStream(a), Sha(a), a.Length, long.MaxValue, default);
        _time.Advance(TimeSpan.FromMinutes(5));
        store.MarkUsed(Sha(a)); // served to a peer: recently used, not in use by this node
        _time.Advance(TimeSpan.FromSeconds(30));

        await store.WriteAsync(new MemoryStream(b), Sha(b), b.Length, long.MaxValue, default);

        Assert.False(store.Contains(Sha(a)));
        Assert.Equal(2000, store.TotalBytes);
    }

    [Fact]
    public async Task OverTheCap_LeastRecentlyUsedBlobsAreEvicted()
    {
        var (store, db) = Open(capacity: 2500);
        var a = Bytes(1000, 1);
        var b = Bytes(1000, 2);
        var c = Bytes(1000, 3);
        await store.WriteAsync(new MemoryStream(a), Sha(a), a.Length, long.MaxValue, default);
        _time.Advance(TimeSpan.FromMinutes(5));
        await store.WriteAsync(new MemoryStream(b), Sha(b), b.Length, long.MaxValue, default);
        _time.Advance(TimeSpan.FromMinutes(5));
        await store.OpenRead(Sha(a))!.DisposeAsync(); // a is used again: b is now the oldest
        _time.Advance(TimeSpan.FromMinutes(5));

        await store.WriteAsync(new MemoryStream(c), Sha(c), c.Length, long.MaxValue, default);

        Assert.True(store.Contains(Sha(a)));
        Assert.False(store.Contains(Sha(b)));
        Assert.True(store.Contains(Sha(c)));
        Assert.Equal(2000, store.TotalBytes);
        Assert.Equal(1, store.Evictions);
        Assert.Equal(2, db.ListBlobs().Count);
    }

    [Fact]
    public async Task VerifyAsync_RemovesABlobWhoseBytesChanged()
    {
        var (store, db) = Open();
        var bytes = Bytes(5000, 1);
        await store.WriteAsync(new MemoryStream(bytes), Sha(bytes), bytes.Length, long.MaxValue, default);
        Assert.True(store.IsVerified(Sha(bytes)));
        File.SetUnixFileMode(store.PathFor(Sha(bytes)), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await using (var f = new FileStream(store.PathFor(Sha(bytes)), FileMode.Open, FileAccess.Write))
        {
            f.WriteByte(0);
        }

        File.SetLastWriteTimeUtc(store.PathFor(Sha(bytes)), DateTime.UtcNow.AddMinutes(1));

        Assert.False(store.IsVerified(Sha(bytes)));
        Assert.False(await store.VerifyAsync(Sha(bytes), default));
        Assert.False(store.Contains(Sha(bytes)));
        Assert.Empty(db.ListBlobs());
    }

    [Fact]
    public async Task BlobDeletedBehindTheStoresBack_IsForgottenWithItsRows_WhenNextOpened()
    {
        var (store, db) = Open();
        var bytes = Bytes(4000, 9);
        await using (var writer = store.BeginWrite(Sha(bytes), bytes.Length, bytes.Length))
        {
            writer.Patch = new PatchRecord("os-1", "KB9", Sha(bytes), bytes.Length, null, _time.GetUtcNow(), "n1", 0, null);
            await writer.WriteAsync(bytes, default);
            Assert.Equal(BlobWriteStatus.Stored, (await writer.CommitAsync(default)).Status);
        }

        Directory.Delete(Path.GetDirectoryName(store.PathFor(Sha(bytes)))!, recursive: true);

        Assert.Null(store.OpenRead(Sha(bytes)));
        Assert.False(store.Contains(Sha(bytes)));
        Assert.Empty(db.ListBlobs());
        Assert.Empty(db.ListPatches());
    }

    [Fact]
    public void TwoNodesOnOneDataDirectory_TheSecondGetsAClearError()
    {
        using var first = DataDirectoryLock.Acquire(_dir.Path);

        var e = Assert.Throws<DataDirectoryInUseException>(() => DataDirectoryLock.Acquire(_dir.Path));

        Assert.Contains("in use by another peerpatch node", e.Message);
    }

    [Fact]
    public void LockIsFreeAgainOnceReleased()
    {
        DataDirectoryLock.Acquire(_dir.Path).Dispose();

        using var again = DataDirectoryLock.Acquire(_dir.Path);
    }

    [Fact]
    public void Database_RunsInWalMode_AndPassesIntegrityCheck()
    {
        var (_, db) = Open();

        Assert.Equal("wal", db.JournalMode());
        Assert.Equal("ok", db.IntegrityCheck());
    }

    [Fact]
    public void AppliedPatches_ArePersisted()
    {
        var (_, db) = Open();
        db.MarkApplied("os-1", "KB1", Sha(Bytes(1, 1)), _time.GetUtcNow());

        var reopened = PatchDatabase.Open(db.Path);

        Assert.True(reopened.IsApplied("os-1", "KB1", Sha(Bytes(1, 1))));
        Assert.False(reopened.IsApplied("os-1", "KB1", Sha(Bytes(1, 2))));
    }

    private (BlobStore Store, PatchDatabase Db) Open(long capacity = 0)
    {
        var db = PatchDatabase.Open(Path.Combine(_dir.Path, "peerpatch.db"));
        var store = new BlobStore(_dir.Path, db, new BlobStoreOptions { CapacityBytes = capacity }, _time);
        store.RecoverAtStartup();
        return (store, db);
    }

    private static void AssertEmpty(BlobStore store, PatchDatabase db)
    {
        Assert.Equal(0, store.Count);
        Assert.Empty(db.ListBlobs());
        Assert.Empty(Directory.GetFiles(store.TempDirectory));
        Assert.Empty(Directory.GetFiles(store.BlobsDirectory, "*", SearchOption.AllDirectories));
    }

    private static byte[] Bytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private sealed class FailingStream(int failAfter) : Stream
    {
        private int _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_read >= failAfter)
            {
                throw new IOException("connection reset");
            }

            var n = Math.Min(count, failAfter - _read);
            _read += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
