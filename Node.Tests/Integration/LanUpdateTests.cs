using System.Security.Cryptography;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>The method end to end with real node processes on loopback (issue: the core).</summary>
[Collection(RealProcesses.Name)]
[Trait("Category", "Network")]
public sealed class LanUpdateTests(ITestOutputHelper output)
{
    private static readonly long[] Sizes = [1_024, 10_000, 100_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000];

    [Fact]
    public async Task FiveClientsUpdatingAtOnce_ApplyEveryPatch_AndTheUpstreamServesEachUniqueByteOnce()
    {
        await using var lan = await Lan.StartAsync(Sizes, clients: 5);

        var results = await Task.WhenAll(lan.Clients.Select(c => c.UpdateAsync()));

        for (var i = 0; i < results.Length; i++)
        {
            lan.AssertAllPatchesApplied(results[i], lan.Clients[i]);
        }

        // Internet bytes = unique bytes: each file was requested once and sent whole, once.
        foreach (var (patch, i) in lan.Patches.Select((p, i) => (p, i)))
        {
            Assert.Equal(1, lan.Internet.Requests($"f{i}.bin"));
            Assert.Equal(patch.Content.Size, lan.Internet.BytesServed($"f{i}.bin"));
        }

        Assert.Equal(lan.UniqueBytes, lan.Internet.TotalFileBytesServed);
        var fromInternet = results.SelectMany(r => r.Outcomes).Count(o => o.GetProperty("from").GetString() == "internet");
        var fromLan = results.SelectMany(r => r.Outcomes).Count(o => o.GetProperty("from").GetString() == "lan");
        Assert.Equal(lan.Patches.Count, fromInternet);
        Assert.Equal((lan.Clients.Count - 1) * lan.Patches.Count, fromLan);

        // The server publishes its database (claim 3).
        var published = await lan.Server.PatchesAsync();
        Assert.Equal(lan.Patches.Count, published.GetArrayLength());
        foreach (var row in published.EnumerateArray())
        {
            var patch = lan.Patches.Single(p => p.Patch == row.GetProperty("name").GetString());
            Assert.Equal(patch.Content.Sha256, row.GetProperty("sha256").GetString());
            Assert.Equal(patch.Content.Size, row.GetProperty("size").GetInt64());
            Assert.Equal(Lan.Os, row.GetProperty("os").GetString());
        }

        var status = await lan.Server.StatusAsync();
        Assert.Equal(0, status.GetProperty("activeClaims").GetInt32()); // every claim ended with its push
        output.WriteLine($"unique bytes {lan.UniqueBytes}, upstream served {lan.Internet.TotalFileBytesServed}; outcomes: {fromInternet} from internet, {fromLan} from LAN; server: {status.GetProperty("stats")}");

        // A second pass downloads and applies nothing.
        var second = await Task.WhenAll(lan.Clients.Select(c => c.UpdateAsync()));
        foreach (var result in second)
        {
            Assert.Equal(0, result.ExitCode);
            Assert.Empty(result.Outcomes);
            Assert.Equal(0, result.Summary.GetProperty("applied").GetInt32());
            Assert.Equal(lan.Patches.Count, result.Summary.GetProperty("alreadyApplied").GetInt32());
            Assert.Equal(0, result.Summary.GetProperty("internetBytes").GetInt64());
            Assert.Equal(0, result.Summary.GetProperty("lanBytes").GetInt64());
        }

        Assert.Equal(lan.UniqueBytes, lan.Internet.TotalFileBytesServed);
        foreach (var client in lan.Clients)
        {
            lan.AssertAppliedExactlyTheFeed(client);
        }
    }

    [Fact]
    public async Task UpdateOutsideATerminal_PrintsPlainLines_WhereEachPatchCameFrom()
    {
        await using var lan = await Lan.StartAsync([3_000_000, 20_000], clients: 2);
        Assert.Equal(0, (await lan.Clients[0].UpdateAsync()).ExitCode);

        // Standard output is a pipe here: no progress bars, one line per stage and per outcome.
        var plain = await NodeProcess.RunCliAsync("update", "--node", lan.Clients[1].Http.ToString());

        Assert.True(plain.ExitCode == 0, plain.Stdout + plain.Stderr);
        var lines = plain.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain('\u001b', plain.Stdout);
        Assert.Contains($"applied  {lan.Patches[0].Patch}  (2.9 MiB from lan)", lines);
        Assert.Contains($"applied  {lan.Patches[1].Patch}  (19.5 KiB from lan)", lines);
        Assert.StartsWith("pass ", lines[^1], StringComparison.Ordinal);
        Assert.EndsWith("2 applied, 0 failed, 0 already applied; 2.9 MiB from the LAN, 0 B from the internet", lines[^1], StringComparison.Ordinal);
        output.WriteLine(plain.Stdout);
    }

    [Fact]
    public async Task ServerKilledMidPass_EveryClientStillFinishes_AndTheRestartedServerIsConsistent()
    {
        await using var lan = await Lan.StartAsync(Sizes, clients: 5);
        lan.Internet.RateLimit = 25L << 20; // 25 MiB/s per connection: the pass takes seconds, so the kill lands inside it

        var updates = Task.WhenAll(lan.Clients.Select(c => c.UpdateAsync()));
        await WaitUntilAsync(async () => (await lan.Server.StatusAsync()).GetProperty("stats").GetProperty("pushesAccepted").GetInt64() >= 4, TimeSpan.FromSeconds(60));
        Assert.False(updates.IsCompleted, "the passes ended before the kill; the test would prove nothing");
        await lan.Server.KillAsync();
        output.WriteLine("server killed with SIGKILL");

        var results = await updates;
        for (var i = 0; i < results.Length; i++)
        {
            lan.AssertAllPatchesApplied(results[i], lan.Clients[i]);
        }

        var fallbacks = results.SelectMany(r => r.Outcomes).Count(o => o.GetProperty("from").GetString() == "internet");
        output.WriteLine($"after the kill: {fallbacks} patch downloads from the internet across 5 clients (10 unique patches)");

        // Restart on the same data directory: what it acknowledged is there, whole and consistent.
        await lan.Server.RestartAsync();
        Assert.Empty(Directory.GetFiles(Path.Combine(lan.Server.DataDir, "tmp")));
        var published = await lan.Server.PatchesAsync();
        var status = await lan.Server.StatusAsync();
        Assert.True(published.GetArrayLength() >= 4, $"only {published.GetArrayLength()} patches survived, 4 pushes were acknowledged");
        Assert.Equal(published.GetArrayLength(), status.GetProperty("blobs").GetProperty("count").GetInt32());
        using var http = new HttpClient();
        foreach (var row in published.EnumerateArray())
        {
            var sha = row.GetProperty("sha256").GetString()!;
            var bytes = await http.GetByteArrayAsync(new Uri(lan.Server.Http, $"v1/blobs/{sha}"));
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            Assert.Equal(lan.Patches.Single(p => p.Patch == row.GetProperty("name").GetString()).Content.Sha256, sha);
        }

        var blobFiles = Directory.GetFiles(Path.Combine(lan.Server.DataDir, "blobs"), "*", SearchOption.AllDirectories);
        Assert.Equal(published.GetArrayLength(), blobFiles.Length);
        output.WriteLine($"restarted server holds {published.GetArrayLength()} patches, every one verified");

        await lan.Server.StopAsync();
        Assert.Equal("ok", PatchDatabase.Open(Path.Combine(lan.Server.DataDir, "peerpatch.db")).IntegrityCheck());
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(50);
        }
    }
}
