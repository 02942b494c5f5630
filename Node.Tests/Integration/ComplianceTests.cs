using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Security;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Security;
using PeerPatch.Protocol.Status;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 17, compliance: reports from every node to the server, kept and rebuilt after a failover; the endpoint's limits.
/// In-process nodes on loopback (the issue asks for network namespaces and real processes; see the report).
/// </summary>
[Trait("Category", "Network")]
public sealed class ComplianceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task FiveNodes_OneFailingOnePatch_OneStopped_TheServerListsWhoHasLacksFailedAndIsStale_AlsoAfterAFailover()
    {
        using var dir = new TempDir();
        await using var internet = await FakeInternet.StartAsync();
        var files = Enumerable.Range(0, 3).Select(i => internet.AddFile($"f{i}.bin", 4096 + i, seed: 1700 + i)).ToList();
        internet.SetFeed(Lan.Os, [("KB0", "f0.bin"), ("KB1", "f1.bin"), ("KB2", "f2.bin")]);
        // Node d: KB1's apply command fails; KB2 is not in its list (so it lacks it).
        var badFeed = internet.SetNamedRawFeed("bad", JsonSerializer.Serialize(new
        {
            os = Lan.Os,
            patches = new object[]
            {
                new { name = "KB0", url = internet.FileUrl("f0.bin").ToString(), sha256 = files[0].Sha256, size = files[0].Size, apply = new { command = "/bin/true", args = Array.Empty<string>() } },
                new { name = "KB1", url = internet.FileUrl("f1.bin").ToString(), sha256 = files[1].Sha256, size = files[1].Size, apply = new { command = "/bin/sh", args = new[] { "-c", "echo 'disk <b>on fire</b>' >&2; exit 3" } } },
            },
        }));

        var names = new[] { "a", "b", "c", "d", "e" };
        var nodes = new Dictionary<string, InProcessNode>();
        try
        {
            foreach (var (name, i) in names.Select((n, i) => (n, i)))
            {
                nodes[name] = await InProcessNode.StartAsync(dir.Sub(name), TimeProvider.System, new Dictionary<string, string?>
                {
                    [nameof(ClusterOptions.Priority)] = (100 - (i * 10)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    [$"{nameof(SourcesOptions.Sources)}:0"] = "manifest:" + (name == "d" ? badFeed.ToString() : internet.FeedUrlTemplate),
                    [nameof(UpdatingOptions.ComplianceReportInterval)] = "00:00:01",
                    [nameof(ServingOptions.ComplianceStaleAfter)] = "00:00:06",
                });
            }

            var ids = new Dictionary<string, string>();
            foreach (var (name, node) in nodes)
            {
                ids[name] = (await node.StatusAsync()).GetProperty("nodeId").GetString()!;
            }

            await WaitAsync(async () => (await Task.WhenAll(nodes.Values.Select(n => n.StatusAsync()))).All(s => s.GetProperty("serverId").GetString() == ids["a"]), "all five follow a");
            await Task.WhenAll(nodes.Values.Select(n => n.Services.GetRequiredService<UpdateRunner>().RunAsync(null, false, CancellationToken.None)));

            // e reports, then stops.
            await WaitAsync(async () => (await ViewAsync(nodes["a"])).Nodes.Count(n => n.PassId is not null) == 5, "five reports at a");
            await nodes["e"].DisposeAsync();
            nodes.Remove("e");
            await WaitAsync(async () => (await ViewAsync(nodes["a"])).Nodes.Single(n => n.NodeId == ids["e"]).Stale, "e stale at a");

            var before = await ViewAsync(nodes["a"]);
            output.WriteLine(JsonSerializer.Serialize(before, StatusJsonContext.Default.ComplianceView));
            string[] abc = [ids["a"], ids["b"], ids["c"]];
            AssertPatch(before, "KB0", have: [.. abc, ids["d"]], lack: [], failed: [], stale: [ids["e"]]);
            AssertPatch(before, "KB1", have: abc, lack: [], failed: [ids["d"]], stale: [ids["e"]]);
            AssertPatch(before, "KB2", have: abc, lack: [ids["d"]], failed: [], stale: [ids["e"]]);
            var failure = before.Patches.Single(p => p.Patch == "KB1").Failed.Single();
            Assert.Contains("exited with 3", failure.Text);
            Assert.Contains("on fire", failure.Text);
            Assert.Equal(2, before.ExitCode());
            var d = before.Nodes.Single(n => n.NodeId == ids["d"]);
            Assert.Equal(["KB2"], d.Lacks);
            Assert.Equal("KB1", d.Failed.Single().Node);

            // The server dies: b is elected and, from the nodes' re-sent reports and hand-overs, gives the same answer
            // (for every node but the dead server itself, which it knows only by hand-over).
            await nodes["a"].DisposeAsync();
            nodes.Remove("a");
            var killed = Stopwatch.StartNew();
            await WaitAsync(async () => (await nodes["b"].StatusAsync()).GetProperty("role").GetString() == "server", "b elected");
            var elected = killed.Elapsed;
            ComplianceView? after = null;
            await WaitAsync(async () =>
            {
                after = await ViewAsync(nodes["b"]);
                return Answer(before, ids["a"]) == Answer(after, ids["a"]);
            }, "b's view equals a's");
            output.WriteLine($"server killed: b elected after {elected.TotalSeconds:0.0} s, its compliance view whole {killed.Elapsed.TotalSeconds:0.0} s after the kill (report interval 1 s)");
            output.WriteLine(JsonSerializer.Serialize(after!, StatusJsonContext.Default.ComplianceView));
        }
        finally
        {
            foreach (var node in nodes.Values)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TheEndpoint_RefusesOversizeMalformedAndTooLongReports_AndReadsOnlyOnTheServer()
    {
        using var dir = new TempDir();
        await using var server = await InProcessNode.StartAsync(dir.Sub("s"), TimeProvider.System, new Dictionary<string, string?> { [nameof(ClusterOptions.Role)] = "server", [nameof(ClusterOptions.Discovery)] = "false" });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = new Uri(server.Http, "v1/compliance");
        await WaitAsync(async () => (await server.StatusAsync()).GetProperty("role").GetString() == "server", "server role");

        var many = new ComplianceReport("n1", "pc", null, Lan.Os, "p", DateTimeOffset.UnixEpoch, [.. Enumerable.Range(0, ComplianceReport.MaxPatches + 1).Select(i => new CompliancePatch($"KB{i}", ComplianceStates.Applied))]);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync(url, many, StatusJsonContext.Default.ComplianceReport)).StatusCode);

        // Refused before the body is read (Expect: 100-continue lets the client hear it instead of a reset).
        using (var huge = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("{\"nodeId\":\"n1\",\"hostname\":\"" + new string('x', (int)ComplianceReport.MaxBodyBytes) + "\"}", Encoding.UTF8, "application/json") })
        {
            huge.Headers.ExpectContinue = true;
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.SendAsync(huge)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync(url, new StringContent("{\"nodeId\":", Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync(url, new ComplianceReport("../x", "pc", null, Lan.Os, "p", DateTimeOffset.UnixEpoch, []), StatusJsonContext.Default.ComplianceReport)).StatusCode);

        var good = new ComplianceReport("n1", "<script>pc</script>", "ring0", Lan.Os, "p1", DateTimeOffset.UnixEpoch, [new("KB1", ComplianceStates.Failed, "boom"), new("KB2", ComplianceStates.Held, "held by policy")], [new ComplianceKnownNode("gone", "old-pc", null, Lan.Os, 3_600_000)]);
        var response = await http.PostAsJsonAsync(url, good, StatusJsonContext.Default.ComplianceReport);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var reply = await response.Content.ReadFromJsonAsync(StatusJsonContext.Default.ComplianceReply);
        Assert.Equal(2, reply!.Accepted);
        Assert.Contains(reply.Known, k => k.NodeId == "gone");

        var view = await ViewAsync(server);
        var n1 = view.Nodes.Single(n => n.NodeId == "n1");
        Assert.Equal("ring0", n1.Ring);
        Assert.Equal("boom", n1.Failed.Single().Text);
        Assert.True(view.Nodes.Single(n => n.NodeId == "gone").Stale); // handed over, seen an hour ago
        var states = server.Services.GetRequiredService<ComplianceBook>().StatesOf(Lan.Os, "KB1");
        Assert.Equal(ComplianceStates.Failed, states.Single(s => s.NodeId == "n1").State);

        // The server's /metrics: (node, patch) pairs by OS and state, and stale nodes.
        var metrics = await http.GetStringAsync(new Uri(server.Http, "metrics"));
        Assert.Contains($"peerpatch_compliance_patches{{os=\"{Lan.Os}\",state=\"failed\"}} 1", metrics);
        Assert.Contains($"peerpatch_compliance_patches{{os=\"{Lan.Os}\",state=\"held\"}} 1", metrics);
        Assert.Contains($"peerpatch_compliance_stale_nodes{{os=\"{Lan.Os}\"}} 1", metrics);

        // Filters travel as query parameters.
        var one = await http.GetFromJsonAsync(new Uri(server.Http, "v1/compliance?node=n1&patch=KB2"), StatusJsonContext.Default.ComplianceView);
        Assert.Equal("KB2", Assert.Single(one!.Patches).Patch);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(new Uri(server.Http, "v1/compliance?os=BAD%20OS"))).StatusCode);
    }

    [Fact]
    public async Task WithAClusterKey_AnUnsignedOrWronglySignedReportIsRefused_AndASignedOneKept()
    {
        using var dir = new TempDir();
        var key = ClusterKey.Generate();
        var keyFile = Path.Combine(dir.Path, "cluster.key");
        await File.WriteAllTextAsync(keyFile, key.Export());
        await using var server = await InProcessNode.StartAsync(dir.Sub("s"), TimeProvider.System, new Dictionary<string, string?>
        {
            [nameof(ClusterOptions.Role)] = "server",
            [nameof(ClusterOptions.Discovery)] = "false",
            [nameof(SecurityOptions.ClusterKeyFile)] = keyFile,
        });
        await WaitAsync(async () => (await server.StatusAsync()).GetProperty("role").GetString() == "server", "server role");
        var url = new Uri(server.Http, "v1/compliance");
        var report = new ComplianceReport("n1", "pc", null, Lan.Os, "p1", DateTimeOffset.UnixEpoch, [new("KB1", ComplianceStates.Applied)]);

        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await plain.PostAsJsonAsync(url, report, StatusJsonContext.Default.ComplianceReport)).StatusCode);

        async Task<HttpStatusCode> PostSignedAsync(ClusterKey with)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(report, StatusJsonContext.Default.ComplianceReport) };
            request.Headers.TryAddWithoutValidation("Authorization", HttpSignature.Create(with, "POST", "/v1/compliance", "n1", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RandomNumberGenerator.GetBytes(16)));
            using var response = await plain.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await PostSignedAsync(ClusterKey.Generate()));
        Assert.Equal(HttpStatusCode.Accepted, await PostSignedAsync(key));
        Assert.Contains((await ViewAsync(server)).Nodes, n => n.NodeId == "n1");
    }

    private static async Task<ComplianceView> ViewAsync(InProcessNode node)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return (await http.GetFromJsonAsync(new Uri(node.Http, "v1/compliance"), StatusJsonContext.Default.ComplianceView))!;
    }

    internal static void AssertPatch(ComplianceView view, string patch, string[] have, string[] lack, string[] failed, string[] stale)
    {
        var p = view.Patches.Single(x => x.Patch == patch);
        Assert.Equal(have.Order(StringComparer.Ordinal), p.Have);
        Assert.Equal(lack.Order(StringComparer.Ordinal), p.Lack);
        Assert.Equal(failed.Order(StringComparer.Ordinal), p.Failed.Select(f => f.Node));
        Assert.Empty(p.Held);
        Assert.Equal(stale.Order(StringComparer.Ordinal), p.Stale);
    }

    /// <summary>The answer as the test compares it: per patch who is in which state (with the errors), and who is stale; <paramref name="except"/> left out.</summary>
    internal static string Answer(ComplianceView view, string except) =>
        string.Join("\n", view.Patches.Select(p => $"{p.Os}/{p.Patch} have={Ids(p.Have, except)} lack={Ids(p.Lack, except)} failed={string.Join(",", p.Failed.Where(f => f.Node != except).Select(f => f.Node + ":" + f.Text))} held={Ids([.. p.Held.Select(h => h.Node)], except)} stale={Ids(p.Stale, except)}")
            .Append("stale nodes=" + Ids([.. view.Nodes.Where(n => n.Stale).Select(n => n.NodeId)], except)));

    private static string Ids(IReadOnlyList<string> ids, string except) => string.Join(",", ids.Where(i => i != except).Order(StringComparer.Ordinal));

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < Limit; await Task.Delay(200))
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not there yet (e.g. not the server yet: 409)
            }
        }

        throw new Xunit.Sdk.XunitException($"not within {Limit}: {what}");
    }
}
