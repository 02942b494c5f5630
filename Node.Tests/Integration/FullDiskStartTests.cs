using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// A node that restarts while its data disk is full (after a crash on a full disk, or an admin's restart to "fix"
/// it): it must start, serve what it holds, and keep its cache capped once the disk has room again. The data directory
/// is a whole tmpfs (the node's config file lies beside it, off the disk).
/// </summary>
[Trait("Category", "Network")]
public sealed class FullDiskStartTests(ITestOutputHelper output)
{
    /// <summary>
    /// After a clean stop SQLite has removed its -wal and -shm files; opening the database on a full disk cannot create
    /// them, and PatchDatabase.Open (via NodeData.Open) throws 'disk I/O error' out of the host: the node exits 1, so
    /// under systemd it restarts every 5 s and fails again, serving nothing, until someone frees space.
    /// </summary>
    [RootFact] // mounting a tmpfs needs root
    public async Task NodeRestartedOnAFullDisk_AfterACleanStop_Starts_AndServesTheBlobItHolds()
    {
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "100m", "disk");
        await using var internet = await FakeInternet.StartAsync();
        var file = internet.AddFile("f.bin", 5_000_000, seed: 3);
        internet.SetFeed(Lan.Os, [("KB-1", "f.bin")]);
        await using var node = await NodeProcess.StartAsync("node", disk.Path, "--role", "server", "--source", "manifest:" + internet.FeedUrlTemplate);
        Assert.Equal(0, (await node.UpdateAsync()).ExitCode);
        await node.StopAsync();
        Tmpfs.Fill(Path.Combine(disk.Path, "filler"));

        Exception? failed = null;
        try
        {
            await node.RestartAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            failed = e;
        }

        Assert.True(failed is null, $"the node did not start on the full disk: {failed?.Message[..Math.Min(failed.Message.Length, 3000)]}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var bytes = await http.GetByteArrayAsync(new Uri(node.Http, $"v1/blobs/{file.Sha256}"));
        Assert.Equal(file.Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
    }

    /// <summary>
    /// After a SIGKILL the database opens on the full disk (its -wal and -shm are still there), but the cache cap is
    /// derived from the free space at start (NodeData.Open: free / 100 * CacheCapPercent): 0 on a full disk, and 0 means
    /// "no cap" to the store. Once the disk has room again the cache must still be capped.
    /// </summary>
    [RootFact] // mounting a tmpfs needs root
    public async Task NodeRestartedOnAFullDisk_AfterAKill_StillCapsItsCache_OnceTheDiskHasRoomAgain()
    {
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "200m", "disk");
        await using var internet = await FakeInternet.StartAsync();
        var files = Enumerable.Range(0, 4).Select(i => internet.AddFile($"f{i}.bin", 30_000_000, seed: 40 + i)).ToList();
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        var filler = Path.Combine(disk.Path, "filler");
        await using var node = await NodeProcess.StartAsync("node", disk.Path, "--server", server.ServerAddress, "--source", "manifest:" + internet.FeedUrlTemplate);
        await node.KillAsync();
        Tmpfs.Fill(filler);
        await node.RestartAsync();
        var capacity = (await node.StatusAsync()).GetProperty("blobs").GetProperty("capacityBytes").GetInt64();
        File.Delete(filler); // the disk has room again

        for (var i = 0; i < files.Count; i++)
        {
            internet.SetFeed(Lan.Os, [($"KB-{i}", $"f{i}.bin")]);
            var pass = await node.UpdateAsync();
            Assert.True(pass.ExitCode == 0, pass.Stdout + pass.Stderr + node.Output);
        }

        var blobs = (await node.StatusAsync()).GetProperty("blobs");
        var held = blobs.GetProperty("bytes").GetInt64();
        output.WriteLine($"cap at the start on the full disk: {capacity} (0 = none); after 4 passes of 30 MB: {blobs}");
        // 20 % of the free space of a 200 MB disk is at most 40 MB; the newest blob is always kept: two 30 MB blobs at most.
        Assert.True(held <= 60_000_000, $"the cache holds {held} bytes of a 200 MB disk (cap {blobs.GetProperty("capacityBytes").GetInt64()}: 0 = none)");
    }
}
