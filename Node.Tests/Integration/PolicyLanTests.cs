using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Security;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Security;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>The LAN's policy between nodes hosted in this process: the internet cap shared by every claim, replication, failover.</summary>
[Trait("Category", "Network")]
public sealed class PolicyLanTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly List<InProcessNode> _nodes = [];
    private FakeInternet _internet = null!;

    public async Task InitializeAsync() => _internet = await FakeInternet.StartAsync(sendBufferBytes: 64 * 1024);

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _internet.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<InProcessNode> StartAsync(string name, string? server, string? keyFile = null)
    {
        var settings = new Dictionary<string, string?>
        {
            [nameof(ClusterOptions.Role)] = server is null ? "server" : "client",
            [nameof(ClusterOptions.Discovery)] = "false",
            [$"{nameof(SourcesOptions.Sources)}:0"] = "manifest:" + _internet.FeedUrlTemplate,
        };
        if (server is not null)
        {
            settings[nameof(ClusterOptions.Server)] = server;
            settings[nameof(ServerLinkOptions.PolicyRefresh)] = "00:00:01";
        }

        if (keyFile is not null)
        {
            settings[nameof(SecurityOptions.ClusterKeyFile)] = keyFile;
        }

        var node = await InProcessNode.StartAsync(_dir.Sub(name), TimeProvider.System, settings);
        _nodes.Add(node);
        return node;
    }

    [Fact]
    public async Task ACapOf2MBps_HoldsForTenPCsMissingA20MBPatchAtOnce_OneDownload_AllFinish()
    {
        const long Cap = 2_000_000;
        _internet.AddFile("big.bin", 20_000_000, seed: 7);
        _internet.SetFeed(Lan.Os, [("KB-BIG", "big.bin")]);
        var server = await StartAsync("server", null);
        var clients = new List<InProcessNode>();
        for (var i = 0; i < 10; i++)
        {
            clients.Add(await StartAsync($"pc{i}", server.ServerAddress));
        }

        using (var set = await SendAsync(server, HttpMethod.Put, "v1/policy", """{"internet": {"rateCap": "2 MB/s"}}"""))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var passes = clients.Select(c => c.Services.GetRequiredService<UpdateRunner>().RunAsync(null, false, CancellationToken.None)).ToList();
        var summaries = await Task.WhenAll(passes).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.All(summaries, s => Assert.Equal((1, 0), (s!.Applied, s.Failed)));
        Assert.Equal(1, _internet.Requests("big.bin"));
        var timeline = _internet.Timeline("big.bin");
        var seconds = (timeline[^1].At - timeline[0].At).TotalSeconds;
        var perSecond = _internet.MaxBytesWithin("big.bin", TimeSpan.FromSeconds(1));
        var perTwo = _internet.MaxBytesWithin("big.bin", TimeSpan.FromSeconds(2));
        output.WriteLine($"upstream: {_internet.BytesServed("big.bin")} bytes in {seconds:0.00} s = {_internet.BytesServed("big.bin") / seconds / 1e6:0.000} MB/s; most in any 1 s: {perSecond / 1e6:0.000} MB; in any 2 s: {perTwo / 2e6:0.000} MB/s");
        // The rate on the upstream over the whole download (unthrottled, loopback runs at hundreds of MB/s). Windows of
        // one second are printed, not asserted: the upstream, the nodes and the test share one process on a loaded
        // machine, and a stall of either side bunches the upstream's write times by what the sockets buffer.
        Assert.True(_internet.BytesServed("big.bin") / seconds <= Cap, $"average {_internet.BytesServed("big.bin") / seconds:0} B/s");
    }

    [Fact]
    public async Task APolicySetOnAnyNode_ReachesTheServerAndTheNodes_RefusesBadInput_AndSurvivesTheServersDeath()
    {
        var keyFile = _dir.Sub("cluster.key");
        var key = ClusterKey.Generate();
        await File.WriteAllTextAsync(keyFile, key.Export() + "\n");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _internet.SetFeed(Lan.Os, []);
        var server = await StartAsync("server", null, keyFile);
        var pc = await StartAsync("pc", server.ServerAddress, keyFile);

        using (var set = await SendAsync(pc, HttpMethod.Put, "v1/policy", """{"held": [{"patch": "KB1"}], "internet": {"windows": ["19:00-07:00"]}}""", key))
        {
            Assert.True(set.StatusCode == HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
        }

        using (var bad = await SendAsync(pc, HttpMethod.Put, "v1/policy", """{"held": [{"patch": "KB1", "colour": 1}], "internet": {"windows": ["7pm-7am"]}}""", key))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var errors = JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
            Assert.Equal(2, errors.GetArrayLength());
        }

        using (var unsigned = await SendAsync(pc, HttpMethod.Post, "v1/policy/approve?patch=KB1", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        }

        using (var hold = await SendAsync(pc, HttpMethod.Post, "v1/policy/hold?patch=KB2", null, key))
        {
            Assert.Equal(HttpStatusCode.OK, hold.StatusCode);
        }

        Assert.Equal(2, await VersionAsync(server));
        await UntilAsync(async () => await VersionAsync(pc) == 2, TimeSpan.FromSeconds(20), "the node's copy");
        Assert.True(File.Exists(Path.Combine(pc.DataDir, PolicyReplica.FileName)));

        // The server dies; a new one with an empty database is set up, and the node (restarted) offers its copy.
        await server.DisposeAsync();
        _nodes.Remove(server);
        await pc.DisposeAsync();
        _nodes.Remove(pc);
        var successor = await StartAsync("successor", null, keyFile);
        Assert.Equal(0, await VersionAsync(successor));
        // (A new data directory with the node's stored copy in it: the in-process host keeps the old one locked.)
        Directory.CreateDirectory(_dir.Sub("pc-again"));
        File.Copy(Path.Combine(pc.DataDir, PolicyReplica.FileName), Path.Combine(_dir.Sub("pc-again"), PolicyReplica.FileName));
        var back = await StartAsync("pc-again", successor.ServerAddress, keyFile);

        await UntilAsync(async () => await VersionAsync(successor) == 2, TimeSpan.FromSeconds(30), "the new server adopting the node's policy");
        var policy = await GetAsync(successor);
        Assert.Contains("\"KB2\"", policy.GetProperty("envelope").GetString());
        Assert.NotNull(policy.GetProperty("seal").GetString());
        Assert.Equal(2, await VersionAsync(back));
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what}: not within {limit}");
            await Task.Delay(200);
        }
    }

    private static async Task<JsonElement> GetAsync(InProcessNode node)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return JsonDocument.Parse(await http.GetStringAsync(new Uri(node.Http, "v1/policy"))).RootElement.Clone();
    }

    private static async Task<long> VersionAsync(InProcessNode node) =>
        JsonDocument.Parse((await GetAsync(node)).GetProperty("envelope").GetString()!).RootElement.GetProperty("version").GetInt64();

    private static async Task<HttpResponseMessage> SendAsync(InProcessNode node, HttpMethod method, string path, string? body, ClusterKey? key = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = new Uri(node.Http, path);
        var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", HttpSignature.Create(key, method.Method, url.PathAndQuery, "test", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RandomNumberGenerator.GetBytes(16)));
        }

        return await http.SendAsync(request);
    }
}
