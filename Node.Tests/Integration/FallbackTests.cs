using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>Never block an update: a server that hangs, serves bad bytes, or a claim holder that dies.</summary>
[Trait("Category", "Network")]
public sealed class FallbackTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private FakeInternet _internet = null!;
    private GeneratedContent _small = null!;
    private GeneratedContent _big = null!;

    public async Task InitializeAsync()
    {
        _internet = await FakeInternet.StartAsync();
        _small = _internet.AddFile("small.bin", 200_000, seed: 1);
        _big = _internet.AddFile("big.bin", 30_000_000, seed: 2);
        _internet.SetFeed(Lan.Os, [("KB-small", "small.bin"), ("KB-big", "big.bin")]);
    }

    public async Task DisposeAsync()
    {
        await _internet.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task FrozenServer_ClientFallsBackToTheInternet_AndSaysSo()
    {
        await using var server = await NodeProcess.StartAsync("server", _dir.Sub("server"), "--role", "server");
        await using var client = await StartClientAsync("client", server);
        server.Freeze();

        var started = DateTime.UtcNow;
        var result = await client.UpdateAsync();
        var took = DateTime.UtcNow - started;

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + client.Output);
        Assert.Equal(2, result.Outcomes.Count);
        Assert.All(result.Outcomes, o => Assert.Equal("internet", o.GetProperty("from").GetString()));
        Assert.Contains("falling back to the internet", client.Output);
        Assert.True(took < TimeSpan.FromSeconds(30), $"the pass took {took.TotalSeconds:0.0} s with a frozen server");
        output.WriteLine($"pass with a frozen server took {took.TotalSeconds:0.0} s");
        AssertApplied(client);
    }

    [Fact]
    public async Task ServerWithACorruptCopy_ClientRejectsIt_AndAppliesTheRightBytesFromTheInternet()
    {
        // Server-only (no peer serving): the server's copy is the only LAN copy offered, so the internet is the fallback.
        await using var server = await NodeProcess.StartWithConfigAsync("server", _dir.Sub("server"), """{"PeerServing":false}""", "--role", "server");
        await using var first = await StartClientAsync("first", server);
        Assert.Equal(0, (await first.UpdateAsync()).ExitCode);
        await CorruptTheServersCopyAsync(server);

        await using var second = await StartClientAsync("second", server);
        var result = await second.UpdateAsync();

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + second.Output);
        var big = result.Outcomes.Single(o => o.GetProperty("patch").GetString() == "KB-big");
        Assert.Equal("internet", big.GetProperty("from").GetString());
        Assert.Equal(2, _internet.Requests("big.bin"));
        AssertApplied(second);
        Assert.Equal(1, (await server.StatusAsync()).GetProperty("stats").GetProperty("corruptBlobsDetected").GetInt64());
        Assert.Equal(1, (await second.StatusAsync()).GetProperty("stats").GetProperty("lanFailures").GetInt64());
    }

    [Fact]
    public async Task ServerWithACorruptCopy_AndAPeerWithAGoodOne_TheClientTakesTheRightBytesFromThePeer()
    {
        await using var server = await NodeProcess.StartAsync("server", _dir.Sub("server"), "--role", "server");
        await using var first = await StartClientAsync("first", server);
        Assert.Equal(0, (await first.UpdateAsync()).ExitCode);
        await CorruptTheServersCopyAsync(server);

        await using var second = await StartClientAsync("second", server);
        var result = await second.UpdateAsync();

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + second.Output);
        var big = result.Outcomes.Single(o => o.GetProperty("patch").GetString() == "KB-big");
        Assert.Equal("lan", big.GetProperty("from").GetString()); // from the first client, which holds it intact
        Assert.Equal(1, _internet.Requests("big.bin"));
        AssertApplied(second);
        var stats = (await second.StatusAsync()).GetProperty("stats");
        Assert.True(stats.GetProperty("lanBytesFetched").GetInt64() >= _big.Size, stats.ToString());
    }

    /// <summary>Flips one byte of the server's stored copy of the big patch (its record still names the right hash).</summary>
    private async Task CorruptTheServersCopyAsync(NodeProcess server)
    {
        var onServer = Path.Combine(server.DataDir, "blobs", _big.Sha256[..2], _big.Sha256);
        File.SetUnixFileMode(onServer, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await using var file = new FileStream(onServer, FileMode.Open, FileAccess.ReadWrite);
        file.Position = 12345;
        file.WriteByte(0xAA);
    }

    [Fact]
    public async Task ClaimHolderKilledMidDownload_TheClaimPassesToTheNextNode()
    {
        _internet.RateLimit = 4L << 20; // 30 MB at 4 MiB/s: the first holder is still downloading when it dies
        await using var server = await NodeProcess.StartWithConfigAsync("server", _dir.Sub("server"), """{"ClaimLease":"00:00:03"}""", "--role", "server");
        await using var holder = await StartClientAsync("holder", server);
        await using var waiter = await StartClientAsync("waiter", server);

        var holding = holder.UpdateAsync();
        await WaitUntilAsync(() => _internet.BytesServed("big.bin") > 2_000_000);
        var waiting = waiter.UpdateAsync();
        await Task.Delay(500);
        await holder.KillAsync();
        _internet.RateLimit = 0;
        await holding;

        var result = await waiting;

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + waiter.Output);
        var big = result.Outcomes.Single(o => o.GetProperty("patch").GetString() == "KB-big");
        Assert.Equal("internet", big.GetProperty("from").GetString());
        Assert.Equal(2, _internet.Requests("big.bin"));
        Assert.Contains("KB-big: LAN miss, downloading", waiter.Output); // it got the claim ...
        Assert.DoesNotContain("KB-big: falling back", waiter.Output);    // ... rather than giving up on the LAN
        Assert.Contains("KB-big: pushed to", waiter.Output);
        AssertApplied(waiter);
        Assert.Contains(_big.Sha256, (await server.PatchesAsync()).ToString());
        output.WriteLine($"upstream served big.bin {_internet.Requests("big.bin")} times, {_internet.BytesServed("big.bin")} bytes (size {_big.Size})");
    }

    [Fact]
    public Task ServerFrozenWhileTheClaimHolderPushesItsDownload_TheClientAppliesThePatchWithinBounds_AndSaysThePushFailed() =>
        FreezeTheServerDuringTheClaimedDownloadAsync(freezeAfter: 16L << 20); // a quarter in: the cut-through push follows the download

    [Fact]
    public Task ServerFrozenAsTheClaimHoldersDownloadEnds_TheClientAppliesThePatchWithinBounds_AndSaysThePushFailed() =>
        FreezeTheServerDuringTheClaimedDownloadAsync(freezeAfter: 64L << 20); // every byte downloaded: the push is ending, its answer still to come

    /// <summary>
    /// The client got the claim for a patch (a miss), downloads it at 16 MiB/s and pushes it to the server as it comes;
    /// the server freezes once <paramref name="freezeAfter"/> bytes were served. The push is lost, the patch is not: it
    /// is applied within the stall bounds, and the log says the push failed.
    /// </summary>
    private async Task FreezeTheServerDuringTheClaimedDownloadAsync(long freezeAfter)
    {
        var huge = _internet.AddFile("huge.bin", 64L << 20, seed: 3);
        var feed = _internet.SetNamedFeed("huge", Lan.Os, [("KB-huge", "huge.bin")]);
        _internet.RateLimit = 16L << 20; // four seconds of download
        await using var server = await NodeProcess.StartAsync("server", _dir.Sub("server"), "--role", "server");
        await using var client = await NodeProcess.StartAsync("client", _dir.Sub("client"), "--server", server.ServerAddress, "--source", "manifest:" + feed);

        var pass = client.UpdateAsync();
        await WaitUntilAsync(() => _internet.BytesServed("huge.bin") >= freezeAfter);
        server.Freeze();
        var frozen = DateTime.UtcNow;
        var ended = await Task.WhenAny(pass, Task.Delay(TimeSpan.FromSeconds(120))) == pass;
        var took = DateTime.UtcNow - frozen;
        output.WriteLine($"froze the server after {freezeAfter} bytes served; the pass {(ended ? "ended" : "was still running")} {took.TotalSeconds:0.0} s later");
        output.WriteLine(client.Output);

        Assert.True(ended, $"the pass still ran {took.TotalSeconds:0} s after the server froze under the push");
        var result = await pass;
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Equal("internet", result.Outcomes.Single().GetProperty("from").GetString());
        Assert.Contains("KB-huge: LAN miss, downloading", client.Output); // it held the claim ...
        Assert.Contains($"KB-huge: push to {server.ServerAddress} failed", client.Output); // ... and says it lost the push
        Assert.Equal(new[] { $"{huge.Sha256} KB-huge" }, Lan.AppliedLog(client));
        Assert.True(took < TimeSpan.FromSeconds(45), $"the pass ended {took.TotalSeconds:0.0} s after the server froze");
    }

    [Fact]
    public async Task ServerNodeUpdatingItself_DownloadsOnce_AndItsCopiesServeTheLan()
    {
        await using var server = await NodeProcess.StartAsync("server", _dir.Sub("server"), "--role", "server", "--source", "manifest:" + _internet.FeedUrlTemplate);
        var own = await server.UpdateAsync();
        Assert.True(own.ExitCode == 0, own.Stdout + own.Stderr + server.Output);
        Assert.Equal(2, own.Outcomes.Count);
        Assert.All(own.Outcomes, o => Assert.Equal("internet", o.GetProperty("from").GetString()));
        AssertApplied(server);
        Assert.Equal(2, (await server.PatchesAsync()).GetArrayLength());

        await using var client = await StartClientAsync("client", server);
        var result = await client.UpdateAsync();

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(2, result.Outcomes.Count);
        Assert.All(result.Outcomes, o => Assert.Equal("lan", o.GetProperty("from").GetString()));
        Assert.Equal(1, _internet.Requests("big.bin"));
        Assert.Equal(1, _internet.Requests("small.bin"));
        AssertApplied(client);
    }

    [Fact]
    public async Task APassStartedOverHttp_SendsNoTraceHeadersUpstream()
    {
        // POST /v1/update runs the pass inside the request, whose Activity HttpClient would otherwise continue in a
        // traceparent header to the vendor's feed and files (and to every peer). The node turns that propagation off.
        await using var node = await NodeProcess.StartAsync("server", _dir.Sub("server"), "--role", "server", "--source", "manifest:" + _internet.FeedUrlTemplate);
        var result = await node.UpdateAsync();
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + node.Output);

        var seen = _internet.HeaderNames;
        output.WriteLine($"request headers upstream: {string.Join(", ", seen.Select(h => $"{h.Key} x{h.Value}"))}");
        Assert.True(seen.TryGetValue("Host", out var requests) && requests >= 3, "the feed and both files were requested"); // the record works
        foreach (var trace in new[] { "traceparent", "tracestate", "Request-Id", "Correlation-Context", "baggage" })
        {
            Assert.False(seen.ContainsKey(trace), $"{trace} sent upstream");
        }
    }

    [Fact]
    public async Task FeedThatCannotBeRead_FailsThePass_WithTheReason()
    {
        await using var server = await NodeProcess.StartAsync("server", _dir.Sub("server"), "--role", "server");
        await using var client = await NodeProcess.StartAsync(
            "client", _dir.Sub("client"), "--server", server.ServerAddress, "--source", "manifest:" + new Uri(_internet.BaseUri, "feeds/missing-{os}.json"));

        var result = await client.UpdateAsync();

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Outcomes);
        Assert.Contains("answered 404", result.Summary.GetProperty("sourceErrors")[0].GetString());
        Assert.Equal(1, result.Summary.GetProperty("failed").GetInt32());
    }

    private Task<NodeProcess> StartClientAsync(string name, NodeProcess server) =>
        NodeProcess.StartAsync(name, _dir.Sub(name), "--server", server.ServerAddress, "--source", "manifest:" + _internet.FeedUrlTemplate);

    private void AssertApplied(NodeProcess node) =>
        Assert.Equal(
            new[] { $"{_big.Sha256} KB-big", $"{_small.Sha256} KB-small" },
            Lan.AppliedLog(node).Order().ToArray());

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(20);
        }
    }
}
