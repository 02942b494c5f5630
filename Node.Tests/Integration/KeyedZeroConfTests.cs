using System.Diagnostics;
using System.Text.Json;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Security;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Security;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// A keyed zero-config LAN of in-process nodes on loopback (mDNS on a port of its own): every one-way datagram is
/// sealed for its recipient, so membership (a probe for the advertised id, a proof for the prober), heartbeats (for
/// each member) and a failover must all still work. Nodes in network namespaces cover the same with rogues beside
/// them (RogueNodeTests, ForgedAdvertTests).
/// </summary>
[Trait("Category", "Network")]
public sealed class KeyedZeroConfTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task KeyHolders_ProveEachOther_FollowOneServersHeartbeats_AndFailOver()
    {
        using var dir = new TempDir();
        var keyPath = dir.Sub("cluster.key");
        await File.WriteAllTextAsync(keyPath, ClusterKey.Generate().Export() + "\n");
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var nodes = new Dictionary<string, InProcessNode>();
        try
        {
            foreach (var (name, priority) in new[] { ("a", "300"), ("b", "200"), ("c", "100") })
            {
                nodes[name] = await InProcessNode.StartAsync(dir.Sub(name), TimeProvider.System, new Dictionary<string, string?>
                {
                    [nameof(ClusterOptions.Priority)] = priority,
                    [nameof(SecurityOptions.ClusterKeyFile)] = keyPath,
                });
            }

            var ids = new Dictionary<string, string>();
            foreach (var (name, node) in nodes)
            {
                ids[name] = (await node.StatusAsync()).GetProperty("nodeId").GetString()!;
            }

            var watch = Stopwatch.StartNew();
            await WaitAsync(async () => (await Views(nodes.Values)).All(v => v.ServerId == ids["a"]), "all three follow a");
            var term = (await nodes["a"].StatusAsync()).GetProperty("term").GetInt64();
            output.WriteLine($"all follow a (term {term}) after {watch.Elapsed.TotalSeconds:0.0} s");

            // A follower that got none of a's heartbeats would claim within the heartbeat timeout (at most 2 s).
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.All(await Views(nodes.Values), v => Assert.Equal((ids["a"], term), (v.ServerId, v.Term)));
            using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
            {
                var members = JsonDocument.Parse(await http.GetStringAsync(new Uri(nodes["a"].Http, "v1/members"))).RootElement;
                Assert.Equal(2, members.GetArrayLength()); // b and c proved the key to a
            }

            await nodes["a"].DisposeAsync();
            nodes.Remove("a");
            var killed = Stopwatch.StartNew();
            await WaitAsync(async () => (await Views(nodes.Values)).All(v => v.ServerId == ids["b"] && v.Term > term), "b and c follow b in a new term");
            output.WriteLine($"a stopped: b elected and followed after {killed.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            foreach (var node in nodes.Values)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task<List<(string? ServerId, long Term)>> Views(IEnumerable<InProcessNode> nodes)
    {
        var views = new List<(string?, long)>();
        foreach (var node in nodes)
        {
            var status = await node.StatusAsync();
            views.Add((status.GetProperty("serverId").GetString(), status.GetProperty("term").GetInt64()));
        }

        return views;
    }

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
                // a node still starting
            }
        }

        throw new Xunit.Sdk.XunitException($"not within {Limit.TotalSeconds:0} s: {what}");
    }
}
