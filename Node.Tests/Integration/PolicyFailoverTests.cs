using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Security;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// The LAN's policy across the server's death, with real processes on a keyed loopback LAN that elects its server
/// (defaults otherwise: `PolicyRefresh` 2 min). What an admin was told was accepted must still hold afterwards.
/// </summary>
[Trait("Category", "Network")]
public sealed class PolicyFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AHoldSetAtTheServer_SurvivesAKillMinus9OfItSecondsLater_AndHoldsThePatchOnEveryNode()
    {
        using var dir = new TempDir();
        await using var internet = await FakeInternet.StartAsync();
        internet.AddFile("f0.bin", 4096, seed: 4242);
        internet.SetFeed(Lan.Os, [("KB-HOLD", "f0.bin")]);
        var (keyFile, key) = await KeyedLanTests.KeygenAsync(dir.Sub("cluster.key"));
        var feed = "manifest:" + internet.FeedUrlTemplate;
        var nodes = new List<NodeProcess>();
        try
        {
            foreach (var (name, priority) in new[] { ("a", "100"), ("b", "50"), ("c", "10") })
            {
                nodes.Add(await NodeProcess.StartAsync(name, dir.Sub(name), "--priority", priority, "--source", feed, "--cluster-key-file", keyFile));
            }

            var first = await ClusterWait.NodeWithIdAsync(nodes, await ClusterWait.OneServerAsync(nodes, Limit));
            using (var hold = await SendAsync(first, HttpMethod.Post, "v1/policy/hold?patch=KB-HOLD", key))
            {
                Assert.True(hold.StatusCode == HttpStatusCode.OK, await hold.Content.ReadAsStringAsync());
            }

            // The admin was answered 200; the server dies a few seconds later (power cut, kill -9).
            await Task.Delay(TimeSpan.FromSeconds(3));
            await first.KillAsync();
            var rest = nodes.Where(n => n != first).ToList();
            var second = await ClusterWait.NodeWithIdAsync(rest, await ClusterWait.OneServerAsync(rest, Limit));
            await Task.Delay(TimeSpan.FromSeconds(2)); // the new server's sync with its own copy and the others' offers

            foreach (var node in rest)
            {
                var policy = await PolicyTextAsync(node);
                output.WriteLine($"{node.Name}: {policy}");
                var result = await node.UpdateAsync();
                output.WriteLine($"{node.Name}: exit {result.ExitCode}: {result.Stdout}");
                Assert.True(result.Summary.GetProperty("held").GetInt32() == 1, $"{node.Name} ({(node == second ? "the new server" : "a follower")}) applied a patch the admin held; its policy: {policy}");
                Assert.Equal(0, result.Summary.GetProperty("applied").GetInt32());
                Assert.Empty(Lan.AppliedLog(node));
            }
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TheDailyQuota_CountsTodaysBytesAfterTheServerIsKilledAndRestarted()
    {
        using var dir = new TempDir();
        await using var internet = await FakeInternet.StartAsync();
        internet.AddFile("a.bin", 100_000, seed: 4301);
        internet.AddFile("b.bin", 100_000, seed: 4302);
        var onlyA = "manifest:" + internet.SetNamedFeed("only-a", Lan.Os, [("KB-A", "a.bin")]);
        var onlyB = "manifest:" + internet.SetNamedFeed("only-b", Lan.Os, [("KB-B", "b.bin")]);
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        await using var first = await NodeProcess.StartAsync("first", dir.Sub("first"), "--server", server.ServerAddress, "--source", onlyA);
        await using var second = await NodeProcess.StartAsync("second", dir.Sub("second"), "--server", server.ServerAddress, "--source", onlyB);
        using (var set = await SendAsync(server, HttpMethod.Put, "v1/policy", null, """{"internet": {"dailyQuota": 150000}}"""))
        {
            Assert.True(set.StatusCode == HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
        }

        var a = await first.UpdateAsync();
        Assert.True(a.Summary.GetProperty("applied").GetInt32() == 1, a.Stdout); // 100,000 of today's 150,000 bytes

        await server.KillAsync();
        await server.RestartAsync();
        var b = await second.UpdateAsync();
        output.WriteLine($"second after the restart: {b.Stdout}");

        Assert.True(b.Summary.GetProperty("held").GetInt32() == 1, $"a second 100,000-byte download was admitted under a 150,000-byte daily quota after the server restarted:\n{b.Stdout}");
        Assert.Equal(100_000, internet.TotalFileBytesServed);
    }

    [Fact]
    public async Task TheDailyQuota_CountsTodaysBytesOnTheServerElectedAfterTheOneThatCountedThemIsKilled()
    {
        using var dir = new TempDir();
        await using var internet = await FakeInternet.StartAsync();
        internet.AddFile("a.bin", 100_000, seed: 4311);
        internet.AddFile("b.bin", 100_000, seed: 4312);
        var onlyA = "manifest:" + internet.SetNamedFeed("only-a", Lan.Os, [("KB-A", "a.bin")]);
        var onlyB = "manifest:" + internet.SetNamedFeed("only-b", Lan.Os, [("KB-B", "b.bin")]);
        var (keyFile, key) = await KeyedLanTests.KeygenAsync(dir.Sub("cluster.key"));
        var nodes = new List<NodeProcess>();
        try
        {
            foreach (var (name, priority, source) in new[] { ("a", "100", "none"), ("b", "50", onlyA), ("c", "10", onlyB) })
            {
                nodes.Add(await NodeProcess.StartAsync(name, dir.Sub(name), "--priority", priority, "--source", source, "--cluster-key-file", keyFile));
            }

            var first = await ClusterWait.NodeWithIdAsync(nodes, await ClusterWait.OneServerAsync(nodes, Limit));
            Assert.Equal("a", first.Name);
            using (var set = await SendAsync(first, HttpMethod.Put, "v1/policy", key, """{"internet": {"dailyQuota": 150000}}"""))
            {
                Assert.True(set.StatusCode == HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
            }

            await Task.Delay(TimeSpan.FromSeconds(2)); // the followers' long polls bring them the quota
            var bPass = await nodes[1].UpdateAsync();
            Assert.True(bPass.Summary.GetProperty("applied").GetInt32() == 1, bPass.Stdout); // 100,000 of today's 150,000 bytes, counted at a

            // A few heartbeats later a dies (kill -9): b, elected next, never admitted a byte itself.
            await Task.Delay(TimeSpan.FromSeconds(2));
            await first.KillAsync();
            var rest = nodes.Where(n => n != first).ToList();
            var second = await ClusterWait.NodeWithIdAsync(rest, await ClusterWait.OneServerAsync(rest, Limit));
            Assert.Equal("b", second.Name);
            await Task.Delay(TimeSpan.FromSeconds(2)); // the new server's sync with its own copy of the policy

            var cPass = await nodes[2].UpdateAsync();
            output.WriteLine($"c after the failover: {cPass.Stdout}");
            Assert.True(cPass.Summary.GetProperty("held").GetInt32() == 1, $"a second 100,000-byte download was admitted under a 150,000-byte daily quota after the server that counted the first was killed:\n{cPass.Stdout}");
            Assert.Equal(100_000, internet.TotalFileBytesServed);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TheRateCap_BoundsTheSumOfFourPCsDownloadingFourDifferentPatchesAtOnce()
    {
        const long Cap = 1_000_000;
        const int Pcs = 4;
        using var dir = new TempDir();
        await using var internet = await FakeInternet.StartAsync(sendBufferBytes: 64 * 1024);
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        using (var set = await SendAsync(server, HttpMethod.Put, "v1/policy", null, """{"internet": {"rateCap": "1 MB/s"}}"""))
        {
            Assert.True(set.StatusCode == HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
        }

        var pcs = new List<NodeProcess>();
        try
        {
            for (var i = 0; i < Pcs; i++)
            {
                internet.AddFile($"p{i}.bin", 3_000_000, seed: 4400 + i);
                var feed = internet.SetNamedFeed($"pc{i}", Lan.Os, [($"KB-P{i}", $"p{i}.bin")]);
                pcs.Add(await NodeProcess.StartAsync($"pc{i}", dir.Sub($"pc{i}"), "--server", server.ServerAddress, "--source", "manifest:" + feed));
            }

            var results = await Task.WhenAll(pcs.Select(p => p.UpdateAsync()));

            Assert.All(results, r => Assert.Equal(1, r.Summary.GetProperty("applied").GetInt32()));
            var writes = Enumerable.Range(0, Pcs).SelectMany(i => internet.Timeline($"p{i}.bin")).OrderBy(w => w.At).ToList();
            for (var i = 0; i < Pcs; i++)
            {
                var own = internet.Timeline($"p{i}.bin");
                var perSecond = Enumerable.Range(0, 12).Select(t => own.Where(w => (w.At - writes[0].At).TotalSeconds >= t && (w.At - writes[0].At).TotalSeconds < t + 1).Sum(w => w.Bytes) / 1000);
                output.WriteLine($"p{i}: {(own[0].At - writes[0].At).TotalSeconds:0.00} s to {(own[^1].At - writes[0].At).TotalSeconds:0.00} s; kB per second: {string.Join(' ', perSecond)}");
            }

            var seconds = (writes[^1].At - writes[0].At).TotalSeconds;
            var total = writes.Sum(w => (long)w.Bytes);
            output.WriteLine($"{total} bytes from the internet in {seconds:0.00} s = {total / seconds / 1e6:0.000} MB/s under a cap of {Cap / 1e6:0.0} MB/s");
            Assert.Equal(Pcs * 3_000_000L, total);
            Assert.True(total / seconds <= Cap, $"the LAN downloaded {total / seconds:0} B/s together under a cap of {Cap} B/s");
        }
        finally
        {
            foreach (var pc in pcs)
            {
                await pc.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TheRateCap_AlsoBoundsTheInternetDownloadsOfPCsWhoseLanCopyWasBad()
    {
        // A hit whose LAN copy fails its hash goes to the internet: under the cap like every other internet download.
        const long Cap = 1_000_000;
        using var dir = new TempDir();
        await using var internet = await FakeInternet.StartAsync(sendBufferBytes: 64 * 1024);
        var big = internet.AddFile("big.bin", 12_000_000, seed: 4500); // long enough that what socket buffers take ahead of the paced reads stays within the 5 % headroom
        internet.SetFeed(Lan.Os, [("KB-BIG", "big.bin")]);
        var feed = "manifest:" + internet.FeedUrlTemplate;
        await using var server = await NodeProcess.StartWithConfigAsync("server", dir.Sub("server"), """{"PeerServing":false}""", "--role", "server");
        var pcs = new List<NodeProcess>();
        try
        {
            pcs.Add(await NodeProcess.StartAsync("pc0", dir.Sub("pc0"), "--server", server.ServerAddress, "--source", feed));
            Assert.Equal(1, (await pcs[0].UpdateAsync()).Summary.GetProperty("applied").GetInt32());
            var firstDownload = internet.Timeline("big.bin").Count;
            using (var set = await SendAsync(server, HttpMethod.Put, "v1/policy", null, """{"internet": {"rateCap": "1 MB/s"}}"""))
            {
                Assert.True(set.StatusCode == HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
            }

            // The server's copy goes bad on disk (one byte flipped).
            var onServer = Path.Combine(server.DataDir, "blobs", big.Sha256[..2], big.Sha256);
            File.SetUnixFileMode(onServer, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var right = big.ToArray()[12345..12346];
            await using (var file = new FileStream(onServer, FileMode.Open, FileAccess.ReadWrite))
            {
                file.Position = 12345;
                file.WriteByte((byte)(right[0] ^ 0xFF));
            }

            for (var i = 1; i <= 3; i++)
            {
                pcs.Add(await NodeProcess.StartAsync($"pc{i}", dir.Sub($"pc{i}"), "--server", server.ServerAddress, "--source", feed));
            }

            var results = await Task.WhenAll(pcs.Skip(1).Select(p => p.UpdateAsync()));

            Assert.All(results, r => Assert.Equal(1, r.Summary.GetProperty("applied").GetInt32()));
            var after = internet.Timeline("big.bin").Skip(firstDownload).ToList();
            var seconds = Math.Max(0.001, (after[^1].At - after[0].At).TotalSeconds);
            var bytes = after.Sum(w => (long)w.Bytes);
            output.WriteLine($"after the bad copy: {internet.Requests("big.bin") - 1} more internet downloads, {bytes} bytes in {seconds:0.00} s = {bytes / seconds / 1e6:0.000} MB/s under a cap of {Cap / 1e6:0.0} MB/s");
            Assert.True(bytes / seconds <= Cap, $"{bytes} bytes from the internet in {seconds:0.00} s under a cap of {Cap} B/s");
        }
        finally
        {
            foreach (var pc in pcs)
            {
                await pc.DisposeAsync();
            }
        }
    }

    private static async Task<string> PolicyTextAsync(NodeProcess node)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var reply = JsonDocument.Parse(await http.GetStringAsync(new Uri(node.Http, "v1/policy"))).RootElement;
        return reply.GetProperty("envelope").GetString()!.ReplaceLineEndings(" ");
    }

    internal static async Task<HttpResponseMessage> SendAsync(NodeProcess node, HttpMethod method, string path, ClusterKey? key, string? body = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = new Uri(node.Http, path);
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", HttpSignature.Create(key, method.Method, url.PathAndQuery, "n-admin", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RandomNumberGenerator.GetBytes(16)));
        }

        return await http.SendAsync(request);
    }
}
