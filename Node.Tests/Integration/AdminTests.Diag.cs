using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 6 against one live LAN (<see cref="AdminLanFixture"/>): peerpatch-diag (found by mDNS, and by --node) lists
/// every node and the right server, its stats add up to what the nodes moved, health says ok; /metrics counters match
/// the bytes moved; the dashboard renders in a browser (AdminTests.Dashboard.cs).
/// </summary>
[Trait("Category", "Network")]
public sealed partial class AdminTests(AdminLanFixture fx, ITestOutputHelper output) : IClassFixture<AdminLanFixture>
{
    [RootFact]
    public async Task Diag_FindsEveryNodeByMdns_NamesTheServer_AndItsStatsAddUpToWhatMoved()
    {
        var ns = fx.Lan.Namespace(1);
        var statuses = await Task.WhenAll(fx.Lan.Nodes.Select(n => n.StatusAsync()));
        var ids = statuses.Select(s => s.GetProperty("nodeId").GetString()!).Order().ToList();

        var nodes = await DiagJsonAsync(ns, "nodes", "--json", "--interface", "eth0");
        Assert.Equal(ids, nodes.EnumerateArray().Select(n => n.GetProperty("nodeId").GetString()!).Order().ToList());
        Assert.All(nodes.EnumerateArray(), n => Assert.True(n.GetProperty("reachable").GetBoolean(), n.ToString()));
        Assert.All(nodes.EnumerateArray(), n => Assert.Equal("mdns", n.GetProperty("foundBy").GetString()));
        Assert.Equal(ids.Count, nodes.EnumerateArray().Count(n => n.GetProperty("status").GetProperty("serverId").GetString() == fx.ServerId));

        var server = await RunDiagAsync(ns, "server", "--json", "--interface", "eth0");
        Assert.Equal(0, server.ExitCode);
        var serverJson = JsonDocument.Parse(server.Stdout).RootElement;
        Assert.Equal(fx.ServerId, serverJson.GetProperty("server").GetProperty("nodeId").GetString());
        Assert.Equal(4, serverJson.GetProperty("followers").GetInt32());

        // Stats: each node's line is its own counters; the totals are what moved. The first client downloaded every
        // patch once (the upstream served the unique bytes), the other two fetched them from the server.
        var stats = await DiagJsonAsync(ns, "stats", "--json", "--interface", "eth0");
        var total = stats.GetProperty("total");
        Assert.Equal(fx.UniqueBytes, fx.Internet.TotalFileBytesServed);
        Assert.Equal(fx.Internet.TotalFileBytesServed, total.GetProperty("internetBytes").GetInt64());
        Assert.Equal(2 * fx.UniqueBytes, total.GetProperty("lanBytesFetched").GetInt64());
        Assert.Equal(2 * fx.UniqueBytes, total.GetProperty("lanBytesServed").GetInt64());
        Assert.Equal(fx.UniqueBytes, total.GetProperty("lanBytesPushed").GetInt64());
        Assert.Equal(fx.UniqueBytes, total.GetProperty("lanBytesReceived").GetInt64());
        Assert.Equal(9, total.GetProperty("applied").GetInt64());
        Assert.Equal(66.7, stats.GetProperty("savingsPercent").GetDouble());
        var fresh = await Task.WhenAll(fx.Lan.Nodes.Select(n => n.StatusAsync()));
        foreach (var line in stats.GetProperty("nodes").EnumerateArray())
        {
            var own = fresh.Single(s => s.GetProperty("nodeId").GetString() == line.GetProperty("nodeId").GetString()).GetProperty("stats");
            foreach (var field in new[] { "internetBytes", "lanBytesFetched", "lanBytesServed", "lanBytesPushed", "lanBytesReceived", "applied" })
            {
                Assert.Equal(own.GetProperty(field).GetInt64(), line.GetProperty(field).GetInt64());
            }
        }

        Assert.Equal(4, stats.GetProperty("nodes").GetArrayLength());

        var health = await RunDiagAsync(ns, "health", "--json", "--interface", "eth0");
        Assert.True(health.ExitCode == 0, health.Stdout + health.Stderr);
        Assert.Equal("ok", JsonDocument.Parse(health.Stdout).RootElement.GetProperty("status").GetString());

        // The database with holders: every node that applied a patch holds its file.
        var patches = await DiagJsonAsync(ns, "patches", "--json", "--interface", "eth0");
        Assert.Equal(3, patches.GetArrayLength());
        var clientIds = new List<string>();
        foreach (var c in fx.Clients)
        {
            clientIds.Add((await c.StatusAsync()).GetProperty("nodeId").GetString()!);
        }

        foreach (var p in patches.EnumerateArray())
        {
            var holders = p.GetProperty("holders").EnumerateArray().Select(h => h.GetString()!).ToHashSet();
            Assert.Superset(clientIds.Append(fx.ServerId).ToHashSet(), holders);
            Assert.Equal(2, p.GetProperty("hits").GetInt64());
        }

        output.WriteLine($"diag: {nodes.GetArrayLength()} nodes, server {fx.ServerId}, internet {total.GetProperty("internetBytes")} B, LAN {total.GetProperty("lanBytesFetched")} B, savings {stats.GetProperty("savingsPercent")} %");
        output.WriteLine((await RunDiagAsync(ns, "health", "--interface", "eth0")).Stdout);
    }

    [RootFact]
    public async Task Diag_GivenOneNodeUrl_FindsTheOthersThroughItsMembers()
    {
        // From the test's own address in the root namespace: no mDNS, only HTTP to the given node.
        var nodes = await DiagJsonAsync(null, "nodes", "--json", "--node", fx.Lan.Nodes[0].Http.ToString());
        var ids = new List<string>();
        foreach (var n in fx.Lan.Nodes)
        {
            ids.Add((await n.StatusAsync()).GetProperty("nodeId").GetString()!);
        }

        Assert.Equal(ids.Order().ToList(), nodes.EnumerateArray().Select(n => n.GetProperty("nodeId").GetString()!).Order().ToList());
        Assert.Equal(3, nodes.EnumerateArray().Count(n => n.GetProperty("foundBy").GetString() == "member"));
    }

    [RootFact]
    public async Task Metrics_ScrapedFromEveryNode_CountTheBytesThatMoved()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var scrapes = new List<IReadOnlyList<PromSample>>();
        foreach (var node in fx.Lan.Nodes)
        {
            var text = await http.GetStringAsync(new Uri(node.Http, "metrics"));
            scrapes.Add(PrometheusText.Parse(text));
        }

        double Sum(params string[] labels) => scrapes.Sum(s => s.Value("peerpatch_bytes_total", labels));
        Assert.Equal(fx.Internet.TotalFileBytesServed, Sum("source=internet", "direction=in"));
        Assert.Equal(2 * fx.UniqueBytes, Sum("source=lan", "direction=in", "kind=fetch"));
        Assert.Equal(Sum("source=lan", "direction=in", "kind=fetch"), Sum("source=lan", "direction=out", "kind=serve"));
        Assert.Equal(fx.UniqueBytes, Sum("source=lan", "direction=out", "kind=push"));
        Assert.Equal(Sum("source=lan", "direction=out", "kind=push"), Sum("source=lan", "direction=in", "kind=receive"));

        var server = scrapes[fx.Lan.Nodes.ToList().IndexOf(fx.Server)];
        Assert.Equal(3, server.Value("peerpatch_lookups_total", "result=miss"));
        Assert.Equal(6, server.Value("peerpatch_lookups_total", "result=hit"));
        Assert.Equal(3, server.Value("peerpatch_pushes_total", "result=accepted"));
        Assert.Equal(1, server.Value("peerpatch_is_server"));
        Assert.Equal(3, server.Value("peerpatch_members"));
        Assert.Equal(fx.UniqueBytes, server.Value("peerpatch_blob_store_bytes"));
        Assert.Equal(9, scrapes.Sum(s => s.Value("peerpatch_patches_applied_total")));
        // Every lookup a client timed is one the server answered (a hit, a miss, or "ask again").
        var answered = server.Where(s => s.Name == "peerpatch_lookups_total").Sum(s => s.Value);
        Assert.Equal(answered, scrapes.Sum(s => s.Value("peerpatch_lookup_duration_seconds_count")));
        Assert.True(answered >= 9, $"{answered} lookups answered");
        Assert.Contains(server, s => s.Name == "http_request_duration_seconds_bucket");
        Assert.True(scrapes.All(s => s.Value("peerpatch_elections_total") >= 1));
        output.WriteLine($"metrics: {scrapes.Sum(s => s.Count)} samples from {scrapes.Count} nodes; internet in {Sum("source=internet")}, LAN fetched {Sum("source=lan", "kind=fetch")}, served {Sum("source=lan", "kind=serve")}");
    }

    private static Task<CliResult> RunDiagAsync(string? netns, params string[] args) => NodeProcess.RunDiagAsync(netns, args);

    private static async Task<JsonElement> DiagJsonAsync(string? netns, params string[] args)
    {
        var result = await RunDiagAsync(netns, args);
        Assert.True(result.ExitCode == 0, $"peerpatch-diag {string.Join(' ', args)} exited {result.ExitCode}: {result.Stdout}{result.Stderr}");
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }
}
