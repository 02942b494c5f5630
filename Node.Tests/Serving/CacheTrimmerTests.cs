using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>The running node trims its cache every minute, without a blob being stored.</summary>
public sealed class CacheTrimmerTests
{
    [RootFact] // mounting a tmpfs needs root
    public async Task AMinuteAfterTheDiskFilledWithOtherFiles_TheCacheIsBackUnderItsShrunkenCap()
    {
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "64m", "disk");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new BlobStore(disk.Path, PatchDatabase.Open(Path.Combine(disk.Path, "peerpatch.db")), new BlobStoreOptions { CapacityPercent = 20 }, time);
        store.RecoverAtStartup();
        for (var i = 0; i < 4; i++)
        {
            var bytes = new byte[2_000_000];
            new Random(i).NextBytes(bytes);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            Assert.Equal(BlobWriteStatus.Stored, (await store.WriteAsync(new MemoryStream(bytes), sha, bytes.Length, long.MaxValue, default)).Status);
        }

        time.Advance(CacheTrimmer.Spare + TimeSpan.FromMinutes(1)); // none of them in use any more
        Tmpfs.Fill(Path.Combine(disk.Path, "user-files"));
        using var trimmer = new CacheTrimmer(store, time, NullLogger<CacheTrimmer>.Instance);
        await trimmer.StartAsync(default);

        Assert.Equal(4, store.Count); // nothing stored since the disk filled: the store alone never evicts
        for (var waited = 0; store.TotalBytes > store.CapacityBytes && waited < 100; waited++)
        {
            time.Advance(TimeSpan.FromSeconds(1)); // the trimmer's timer is due at one minute
            await Task.Delay(20);
        }

        Assert.True(store.TotalBytes <= store.CapacityBytes, $"{store.TotalBytes} bytes held over a cap of {store.CapacityBytes}");
        Assert.True(store.Count < 4);
        await trimmer.StopAsync(default).WaitAsync(TimeSpan.FromSeconds(30)); // its loop waits on the fake clock: only its token ends it
    }
}
