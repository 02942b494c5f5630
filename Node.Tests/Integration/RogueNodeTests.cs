using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text.Json;
using LiteNetLib;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 5's rogue node, in network namespaces: three zero-config nodes sharing a cluster key, and beside them on the
/// same LAN a node with another key and an open node, both with the highest priority and elected server of their own
/// clusters, an advert (python3-zeroconf) that copies this cluster's id and claims to be its server with the highest
/// term and priority, and forged heartbeats (plain, and sealed with a guessed key). None is ever elected or followed
/// by a keyed node, none is pushed to, and the keyed nodes still share every patch.
/// </summary>
[Trait("Category", "Network")]
public sealed class RogueNodeTests(ITestOutputHelper output)
{
    private const string Os = "test-1-amd64";

    [RootFact]
    public async Task RoguesClaimingToBeServerWithTheHighestPriority_AreNeverElectedNorPushedTo()
    {
        await using var lan = await NetnsLan.CreateAsync(6);
        using var dir = new TempDir();
        var (keyFile, key) = await KeyedLanTests.KeygenAsync(dir.Sub("cluster.key"));
        var (otherKeyFile, _) = await KeyedLanTests.KeygenAsync(dir.Sub("other.key"));
        await using var internet = await FakeInternet.StartAsync(IPAddress.Parse(lan.TestAddress));
        var files = new[] { ("KB-1", "a.bin", 200_000L), ("KB-2", "b.bin", 1_000_000L), ("KB-3", "c.bin", 2_000_000L) };
        foreach (var (_, file, size) in files)
        {
            internet.AddFile(file, size, seed: (int)(size % 97));
        }

        internet.SetFeed(Os, files.Select(f => (f.Item1, f.Item2)));
        string[] Common(params string[] more) => ["--os-version", Os, "--update-interval", "0", "--source", "manifest:" + internet.FeedUrlTemplate, .. more];

        // The rogues first, so that they are up (and servers of their own) before the keyed nodes look around.
        var otherCluster = await lan.StartNodeAsync(4, Common("--cluster-key-file", otherKeyFile, "--priority", "1000000"));
        var open = await lan.StartNodeAsync(5, Common("--priority", "1000000"));
        var script = Path.Combine(
            typeof(RogueNodeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!, "tools", "mdns", "zeroconf-advertise.py");
        using var impostor = Process.Start(WithStdin(NetnsLan.Command(lan.Namespace(6), "/usr/bin/python3", script, "_peerpatch._udp.local.", "peerpatch-rogue6", "47470", lan.Address(6),
            "v=1", "id=rogue6", "role=server", "term=1000000", "http=47471", "prio=1000000", "since=1", $"cluster={key.ClusterId}")))!;
        using var killImpostor = ChildProcess.KillOnDispose(impostor); // it advertises until its stdin closes: not past a failed test
        Assert.Equal("registered", await ChildProcess.ReadLineWithinAsync(impostor, TimeSpan.FromSeconds(60), "zeroconf-advertise.py registering"));
        var keyed = (await Task.WhenAll(Enumerable.Range(1, 3).Select(k => lan.StartNodeAsync(k, Common("--cluster-key-file", keyFile))))).ToList();

        var rogueIds = new[] { "rogue6", await IdAsync(otherCluster), await IdAsync(open) };
        var keyedIds = (await Task.WhenAll(keyed.Select(IdAsync))).ToHashSet();
        var serverId = await ClusterWait.OneServerAsync(keyed, TimeSpan.FromSeconds(15));
        Assert.Contains(serverId, keyedIds);

        // Forged heartbeats from the test's own port on the LAN: "rogue6 is server, term 1,000,000", plain and sealed
        // with a guessed key, to every keyed node, every 100 ms for 5 s; meanwhile every keyed node's view is polled.
        var forger = new NetManager(new EventBasedNetListener()) { UnconnectedMessagesEnabled = true };
        Assert.True(forger.Start(IPAddress.Parse(lan.TestAddress), IPAddress.IPv6Any, 0));
        var beat = WireCodec.Encode(Envelope.Of(0, new Heartbeat("rogue6", 1_000_000, 1_000_000, 1, 47471)));
        var guessed = ClusterKey.Generate().Unconnected.Seal(1, beat);
        var forged = 0;
        var views = new List<string>();
        try
        {
            for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(5);)
            {
                foreach (var node in keyed)
                {
                    var to = new IPEndPoint(IPAddress.Parse(node.Host), 47470);
                    forger.SendUnconnectedMessage(beat, to);
                    forger.SendUnconnectedMessage(guessed, to);
                    forged += 2;
                }

                var statuses = await Task.WhenAll(keyed.Select(n => n.StatusAsync()));
                foreach (var s in statuses)
                {
                    var follows = s.GetProperty("serverId").GetString();
                    views.Add(follows ?? "-");
                    Assert.True(follows is null || keyedIds.Contains(follows), $"{s.GetProperty("nodeId").GetString()} follows {follows}");
                }

                await Task.Delay(100);
            }
        }
        finally
        {
            forger.Stop();
        }

        // The rogues did become servers, of their own clusters: they really were competing.
        Assert.Equal("server", (await otherCluster.StatusAsync()).GetProperty("role").GetString());
        Assert.Equal("server", (await open.StatusAsync()).GetProperty("role").GetString());

        // Two keyed clients update: the first downloads and pushes to the keyed server, the second gets all from the LAN.
        serverId = await ClusterWait.OneServerAsync(keyed, TimeSpan.FromSeconds(10));
        var server = await ClusterWait.NodeWithIdAsync(keyed, serverId);
        var clients = keyed.Where(n => n != server).ToList();
        var first = await clients[0].UpdateAsync();
        var second = await clients[1].UpdateAsync();
        Assert.True(first.ExitCode == 0, first.Stderr + first.Stdout);
        Assert.True(second.ExitCode == 0, second.Stderr + second.Stdout);
        Assert.All(second.Outcomes, o => Assert.Equal("lan", o.GetProperty("from").GetString()));
        var unique = files.Sum(f => f.Item3);
        var serverStats = (await server.StatusAsync()).GetProperty("stats");
        Assert.Equal(unique, serverStats.GetProperty("lanBytesReceived").GetInt64());

        // Nothing reached the rogues: no push, no patch, no lookup; keyed nodes list only each other as members.
        foreach (var rogue in new[] { otherCluster, open })
        {
            var s = await rogue.StatusAsync();
            Assert.Equal(0, s.GetProperty("stats").GetProperty("lanBytesReceived").GetInt64());
            Assert.Equal(0, s.GetProperty("stats").GetProperty("misses").GetInt64() + s.GetProperty("stats").GetProperty("hits").GetInt64());
            Assert.Equal(0, s.GetProperty("patches").GetInt64());
        }

        long badDatagrams = 0;
        foreach (var node in keyed)
        {
            foreach (var e in await EventsAsync(node))
            {
                Assert.False(rogueIds.Any(id => e.Contains(id, StringComparison.Ordinal)), $"{node.Name}: {e}");
            }

            Assert.DoesNotContain(rogueIds, id => node.Output.Contains("following server " + id, StringComparison.Ordinal));
            // Only keyed nodes, and (allowing a moment for an advert that just flapped to be proven again) both others.
            var members = await MemberIdsAsync(node);
            for (var watch = Stopwatch.StartNew(); members.Count < 2 && watch.Elapsed < TimeSpan.FromSeconds(5); members = await MemberIdsAsync(node))
            {
                Assert.DoesNotContain(members, rogueIds.Contains);
                await Task.Delay(100);
            }

            Assert.All(members, id => Assert.Contains(id, keyedIds));
            Assert.Equal(2, members.Count);
            badDatagrams += (await node.StatusAsync()).GetProperty("stats").GetProperty("badDatagrams").GetInt64();
        }

        Assert.True(badDatagrams >= forged, $"{forged} forged heartbeats sent, {badDatagrams} bad datagrams counted");
        Assert.Contains(keyed, n => n.Output.Contains($"ignoring the node advertised at {lan.Address(6)}:47470", StringComparison.Ordinal));
        impostor.StandardInput.Close();
        await ChildProcess.ExitWithinAsync(impostor, TimeSpan.FromSeconds(60), "zeroconf-advertise.py after its stdin closed");
        output.WriteLine($"keyed server {serverId}; rogues {string.Join(", ", rogueIds)} never followed in {views.Count} polled views; {forged} forged heartbeats, {badDatagrams} bad datagrams counted; server received {unique} pushed bytes, rogues 0");
    }

    private static ProcessStartInfo WithStdin(ProcessStartInfo psi)
    {
        psi.RedirectStandardInput = true;
        return psi;
    }

    private static async Task<string> IdAsync(NodeProcess node) => (await node.StatusAsync()).GetProperty("nodeId").GetString()!;

    private static async Task<List<string>> MemberIdsAsync(NodeProcess node)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var json = JsonDocument.Parse(await http.GetStringAsync(new Uri(node.Http, "v1/members")));
        return json.RootElement.EnumerateArray().Select(e => e.GetProperty("nodeId").GetString()!).ToList();
    }

    private static async Task<List<string>> EventsAsync(NodeProcess node)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var json = JsonDocument.Parse(await http.GetStringAsync(new Uri(node.Http, "v1/events?max=500")));
        return json.RootElement.EnumerateArray().Select(e => e.GetProperty("message").GetString()!).ToList();
    }
}
