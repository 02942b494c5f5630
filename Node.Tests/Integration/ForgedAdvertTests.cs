using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Discovery;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Mdns;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 19's election attacks on a LAN of network namespaces, from the test's own port on it (the attacker's
/// address): a flood of mDNS adverts that copy real members' ids (keyed LAN), and a rogue server advert of term
/// long.MaxValue (open LAN).
/// </summary>
public static class ForgedAdvertTests
{
    private static readonly TimeSpan FloodFor = TimeSpan.FromSeconds(20);
    private const int AdvertsPerSecond = 1000;

    private static string View(IEnumerable<JsonElement> statuses) =>
        string.Join(", ", statuses.Select(s => $"{s.GetProperty("nodeId").GetString()}:{s.GetProperty("role").GetString()}->{s.GetProperty("serverId").GetString()}@{s.GetProperty("term").GetInt64()}"));

    private static ServiceAdvert Forged(JsonElement member, string clusterId)
    {
        var id = member.GetProperty("nodeId").GetString()!;
        return new ServiceAdvert($"peerpatch-{id}", ClusterService.ServiceType, DnsName.Parse($"pp-{id}.local"), 47470, new Dictionary<string, string>
        {
            ["v"] = "1", ["id"] = id, ["role"] = "server", ["term"] = "999", ["http"] = member.GetProperty("httpPort").GetInt32().ToString(CultureInfo.InvariantCulture),
            ["prio"] = member.GetProperty("priority").GetInt32().ToString(CultureInfo.InvariantCulture),
            ["since"] = member.GetProperty("since").GetInt64().ToString(CultureInfo.InvariantCulture), ["cluster"] = clusterId,
        });
    }

    private static async Task WaitForMembersAsync(IEnumerable<NodeProcess> nodes, int count)
    {
        foreach (var node in nodes)
        {
            for (var watch = Stopwatch.StartNew(); (await MembersAsync(node)).Count < count; await Task.Delay(100))
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"{node.Name} never listed {count} members");
            }
        }
    }

    private static async Task<List<JsonElement>> MembersAsync(NodeProcess node)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var json = JsonDocument.Parse(await http.GetStringAsync(new Uri(node.Http, "v1/members")));
        return json.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>Sends mDNS adverts to 224.0.0.251 from the test's address on the LAN (port 5353, IP TTL 255, as a responder does).</summary>
    private sealed class AdvertForger : IDisposable
    {
        private static readonly IPEndPoint Group = new(IPAddress.Parse("224.0.0.251"), 5353);
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly IPAddress _address;

        public AdvertForger(string address)
        {
            _address = IPAddress.Parse(address);
            _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _socket.Bind(new IPEndPoint(_address, 5353));
            _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, _address.GetAddressBytes());
            _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255);
        }

        public void Send(ServiceAdvert advert, bool goodbye = false) =>
            _socket.SendTo(DnsCodec.Encode(DnsMessage.Response(advert.Records(_address, new MdnsOptions(), goodbye ? 0 : null))), Group);

        public void Dispose() => _socket.Dispose();
    }

    [Trait("Category", "Network")]
    public sealed class Keyed(ITestOutputHelper output)
    {
        [RootFact]
        public async Task KeyedLan_AThousandForgedAdvertsASecond_CopyingItsMembersAsServerOfTerm999_ChangeNothing()
        {
            await using var lan = await NetnsLan.CreateAsync(3);
            using var dir = new TempDir();
            var (keyFile, key) = await KeyedLanTests.KeygenAsync(dir.Sub("cluster.key"));
            var nodes = (await Task.WhenAll(Enumerable.Range(1, 3).Select(k => lan.StartNodeAsync(k, "--cluster-key-file", keyFile)))).ToList();
            var serverId = await ClusterWait.OneServerAsync(nodes, TimeSpan.FromSeconds(15));
            var server = await ClusterWait.NodeWithIdAsync(nodes, serverId);
            await WaitForMembersAsync(nodes, 2);
            var term = (await server.StatusAsync()).GetProperty("term").GetInt64();
            var members = await MembersAsync(nodes.First(n => n != server));
            var copies = members.Select(m => Forged(m, key.ClusterId)).ToList(); // the server and the other client, as servers of term 999

            using var forger = new AdvertForger(lan.TestAddress);
            var views = new List<string>();
            var (sent, bad, serverSawFewer) = (0, 0, 0);
            var flood = Task.Run(async () =>
            {
                for (var watch = Stopwatch.StartNew(); watch.Elapsed < FloodFor;)
                {
                    for (var due = Math.Min(watch.Elapsed.TotalSeconds, FloodFor.TotalSeconds) * AdvertsPerSecond; sent < due;)
                    {
                        forger.Send(copies[sent++ % copies.Count]); // paced to the rate, however coarse the timer: at most rate x time in all
                    }

                    await Task.Delay(5);
                }
            });
            while (!flood.IsCompleted)
            {
                var statuses = await Task.WhenAll(nodes.Select(n => n.StatusAsync()));
                views.Add(View(statuses));
                if (statuses.Count(s => s.GetProperty("role").GetString() == "server") != 1
                    || statuses.Any(s => s.GetProperty("serverId").GetString() != serverId || s.GetProperty("term").GetInt64() != term))
                {
                    bad++;
                }

                if ((await MembersAsync(server)).Count < 2)
                {
                    serverSawFewer++;
                }

                await Task.Delay(100);
            }

            await flood;
            var distinct = views.Distinct().ToList();
            output.WriteLine($"{sent} forged adverts in {FloodFor.TotalSeconds:0} s; {bad} of {views.Count} polls (every ~100 ms) not the one server {serverId} at term {term}; "
                             + $"the server listed fewer than 2 members in {serverSawFewer} polls; views seen: {string.Join(" | ", distinct.Take(6))}");
            Assert.Equal(0, bad);
            Assert.Equal(0, serverSawFewer);
            Assert.Contains(nodes, n => n.Output.Contains("ignoring an advert for member", StringComparison.Ordinal));
        }
    }

    [Trait("Category", "Network")]
    public sealed class Open(ITestOutputHelper output)
    {
        [RootFact]
        public async Task OpenLan_ARogueServerOfTermMaxValue_LeavesNoNegativeTerm_AndOneServerWithin5sOfItsGoodbye_AlsoAfterARestart()
        {
            await using var lan = await NetnsLan.CreateAsync(3);
            var nodes = (await Task.WhenAll(Enumerable.Range(1, 3).Select(k => lan.StartNodeAsync(k)))).ToList();
            await ClusterWait.OneServerAsync(nodes, TimeSpan.FromSeconds(15));
            var rogue = new ServiceAdvert("peerpatch-rogue9", ClusterService.ServiceType, DnsName.Parse("pp-rogue9.local"), 47470, new Dictionary<string, string>
            {
                ["v"] = "1", ["id"] = "rogue9", ["role"] = "server", ["term"] = long.MaxValue.ToString(CultureInfo.InvariantCulture),
                ["http"] = "47471", ["prio"] = "1000000", ["since"] = "1", ["cluster"] = string.Empty,
            });

            using var forger = new AdvertForger(lan.TestAddress);
            var lowest = long.MaxValue;
            async Task<List<JsonElement>> PollAsync()
            {
                var statuses = (await Task.WhenAll(nodes.Select(n => n.StatusAsync()))).ToList();
                lowest = Math.Min(lowest, statuses.Min(s => s.GetProperty("term").GetInt64()));
                return statuses;
            }

            for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(10);)
            {
                forger.Send(rogue);
                await PollAsync();
                await Task.Delay(200);
            }

            forger.Send(rogue, goodbye: true);
            var gone = Stopwatch.StartNew();
            var healedAfter = (TimeSpan?)null;
            var last = string.Empty;
            while (gone.Elapsed < TimeSpan.FromSeconds(30))
            {
                var statuses = await PollAsync();
                last = View(statuses);
                var servers = statuses.Where(s => s.GetProperty("role").GetString() == "server").ToList();
                if (servers.Count == 1 && statuses.All(s => s.GetProperty("serverId").GetString() == servers[0].GetProperty("nodeId").GetString()))
                {
                    healedAfter = gone.Elapsed;
                    break;
                }

                await Task.Delay(100);
            }

            output.WriteLine($"after the rogue's goodbye: {(healedAfter is { } h ? $"one server after {h.TotalSeconds:0.0} s" : "no single server in 30 s")}: {last}; lowest term seen {lowest}");
            Assert.True(healedAfter <= TimeSpan.FromSeconds(5), $"not one server within 5 s: {last}");
            Assert.True(lowest >= 0, $"a negative term: {lowest}");

            foreach (var node in nodes)
            {
                await node.StopAsync();
            }

            foreach (var node in nodes)
            {
                await node.RestartAsync();
            }

            await ClusterWait.OneServerAsync(nodes, TimeSpan.FromSeconds(15));
            var after = await PollAsync();
            output.WriteLine($"after a restart: {string.Join(", ", after.Select(s => $"{s.GetProperty("role").GetString()}@{s.GetProperty("term").GetInt64()}"))}; lowest term seen {lowest}");
            Assert.All(after, s => Assert.InRange(s.GetProperty("term").GetInt64(), 0, TermGuard.Max));
            Assert.True(lowest >= 0, $"a negative term: {lowest}");
        }
    }
}
