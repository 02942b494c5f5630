using System.Diagnostics;
using System.Reflection;
using System.Net;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Zero-config LAN (issue 3) with real node processes, each in its own network namespace on one bridge: nodes
/// configured with nothing but a data directory find each other over mDNS and elect one server; it fails over;
/// a split LAN elects one server per side and converges to one when healed, with the union of both databases.
/// </summary>
public static class ZeroConfTests
{
    private const string Os = "test-1-amd64";

    /// <summary>Starts avahi-daemon (no D-Bus, IPv4, eth0 only) in a namespace, with a private /run/avahi-daemon.</summary>
    private static async Task<Process> StartAvahiAsync(string netns, string dir)
    {
        var config = Path.Combine(dir, "avahi-daemon.conf");
        await File.WriteAllTextAsync(config, "[server]\nuse-ipv4=yes\nuse-ipv6=no\nenable-dbus=no\nallow-interfaces=eth0\n[publish]\npublish-addresses=yes\n");
        var psi = NetnsLan.Command(netns, "sh", "-c", $"mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon && exec avahi-daemon --no-drop-root --no-chroot --no-rlimits --no-proc-title -f {config}");
        var avahi = Process.Start(psi)!;
        var ready = new TaskCompletionSource();
        var log = new System.Text.StringBuilder();
        void OnLine(string? line)
        {
            lock (log)
            {
                log.AppendLine(line);
            }

            if (line?.Contains("Server startup complete", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        }

        avahi.OutputDataReceived += (_, e) => OnLine(e.Data);
        avahi.ErrorDataReceived += (_, e) => OnLine(e.Data);
        avahi.BeginOutputReadLine();
        avahi.BeginErrorReadLine();
        if (await Task.WhenAny(ready.Task, Task.Delay(TimeSpan.FromSeconds(15))) != ready.Task)
        {
            avahi.Kill();
            throw new Xunit.Sdk.XunitException("avahi-daemon did not start:\n" + log);
        }

        return avahi;
    }

    /// <summary>When a node's host started, from its first log line ("HH:mm:ss.fff [INF] node ... starting:"; the machine runs on UTC).</summary>
    private static DateTime StartedAt(string log)
    {
        var line = log.Split('\n').First(l => l.Contains(" starting: ", StringComparison.Ordinal));
        var time = TimeSpan.ParseExact(line[(line.IndexOf(": ", StringComparison.Ordinal) + 2)..][..12], @"hh\:mm\:ss\.fff", System.Globalization.CultureInfo.InvariantCulture);
        var today = DateTime.UtcNow.Date + time;
        return today > DateTime.UtcNow.AddMinutes(1) ? today.AddDays(-1) : today;
    }

    [Trait("Category", "Network")]
    public sealed class Election(ITestOutputHelper output)
    {
        [RootFact]
        public async Task FiveNodesWithNoConfiguration_AgreeOnOneServer_Within2Seconds()
        {
            await using var lan = await NetnsLan.CreateAsync(5);
            var launched = Stopwatch.StartNew();

            await Task.WhenAll(Enumerable.Range(1, 5).Select(k => lan.StartNodeAsync(k)));
            var allUp = launched.Elapsed;
            var agreed = await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(10));
            var agreedAt = DateTime.UtcNow;

            // The fair clock: from the moment the last node's host started (its "starting:" log line, UTC).
            var lastStart = lan.Nodes.Max(n => StartedAt(n.Output));
            var fromLastStart = agreedAt - lastStart;
            output.WriteLine($"discovery: one server agreed by all {fromLastStart.TotalSeconds:0.00} s after the last node started; every node answering HTTP after {allUp.TotalSeconds:0.00} s, agreement {(launched.Elapsed - allUp).TotalSeconds:0.00} s later ({launched.Elapsed.TotalSeconds:0.00} s after launching 5 processes on 2 cores); server {agreed}");
            Assert.True(launched.Elapsed - allUp <= TimeSpan.FromSeconds(2), $"agreement took {(launched.Elapsed - allUp).TotalSeconds:0.00} s after the last node was up");
            foreach (var node in lan.Nodes)
            {
                var status = await node.StatusAsync();
                Assert.Equal(4, status.GetProperty("members").GetInt32());
                var mdns = status.GetProperty("mdns");
                Assert.Equal("eth0", Assert.Single(mdns.GetProperty("interfaces").EnumerateArray()).GetString());
                Assert.True(mdns.GetProperty("packetsReceived").GetInt64() > 0);
                Assert.Equal(0, mdns.GetProperty("malformed").GetInt64());
            }

            // An independent implementation (python3-zeroconf, inside node 1's namespace) lists all five with SRV and TXT.
            var listed = await Zeroconf.BrowseAsync(lan.Namespace(1), "_peerpatch._udp.local.");
            Assert.Equal(5, listed.Count);
            foreach (var node in lan.Nodes)
            {
                var status = await node.StatusAsync();
                var id = status.GetProperty("nodeId").GetString()!;
                var entry = listed.Single(e => e.GetProperty("name").GetString() == $"peerpatch-{id}._peerpatch._udp.local.");
                Assert.Equal(47470, entry.GetProperty("port").GetInt32());
                Assert.Contains(node.Host, entry.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
                var txt = entry.GetProperty("txt");
                Assert.Equal(id, txt.GetProperty("id").GetString());
                Assert.Equal(status.GetProperty("role").GetString(), txt.GetProperty("role").GetString());
                Assert.Equal(status.GetProperty("term").GetInt64().ToString(), txt.GetProperty("term").GetString());
                Assert.Equal("47471", txt.GetProperty("http").GetString());
                Assert.Equal("1", txt.GetProperty("v").GetString());
                Assert.True(txt.TryGetProperty("prio", out _) && txt.TryGetProperty("cluster", out _));
            }

            // And over IPv6 (ff02::fb): every node resolves to an IPv6 address.
            var listed6 = await Zeroconf.BrowseAsync(lan.Namespace(2), "_peerpatch._udp.local.", "v6");
            Assert.Equal(5, listed6.Count);
            Assert.All(listed6, e => Assert.Contains(e.GetProperty("addresses").EnumerateArray(), a => IPAddress.Parse(a.GetString()!).AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6));

            // Each node also advertises its apt proxy (its HTTP port) as _apt_proxy._tcp, the type squid-deb-proxy-client
            // and auto-apt-proxy browse for: a PC with either finds a node's address and port with no configuration.
            var proxies = await Zeroconf.BrowseAsync(lan.Namespace(3), "_apt_proxy._tcp.local.");
            Assert.Equal(5, proxies.Count);
            foreach (var node in lan.Nodes)
            {
                var id = (await node.StatusAsync()).GetProperty("nodeId").GetString()!;
                var entry = proxies.Single(e => e.GetProperty("name").GetString() == $"peerpatch-apt-{id}._apt_proxy._tcp.local.");
                Assert.Equal(47471, entry.GetProperty("port").GetInt32());
                Assert.Contains(node.Host, entry.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
            }

            output.WriteLine($"python3-zeroconf in {lan.Namespace(1)} listed {listed.Count} nodes with SRV port 47470 and TXT v/id/role/term/http/prio/cluster; over IPv6 {listed6.Count}; apt proxies (_apt_proxy._tcp) {proxies.Count} at port 47471");
        }

        [RootFact]
        public async Task NodeOnAPcAlreadyRunningAvahi_SharesTheMdnsPort_AndStillElects()
        {
            await using var lan = await NetnsLan.CreateAsync(2);
            using var avahi = await StartAvahiAsync(lan.Namespace(1), lan.Root);
            try
            {
                await Task.WhenAll(lan.StartNodeAsync(1), lan.StartNodeAsync(2));
                var server = await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(10));

                foreach (var node in lan.Nodes)
                {
                    Assert.Equal(1, (await node.StatusAsync()).GetProperty("members").GetInt32());
                }

                Assert.False(avahi.HasExited, "avahi-daemon stopped");
                Assert.DoesNotContain("mDNS unavailable", lan.Nodes[0].Output);
                output.WriteLine($"with avahi-daemon running beside node 1, the two nodes elected {server}");
            }
            finally
            {
                if (!avahi.HasExited)
                {
                    avahi.Kill();
                }
            }
        }
    }

    [Trait("Category", "Network")]
    public sealed class Failover(ITestOutputHelper output)
    {
        [RootFact]
        public async Task ServerKilled_ANewServerTakesOverWithin3Seconds_AndEveryPushedPatchIsStillALanHit()
        {
            await using var lan = await NetnsLan.CreateAsync(5);
            await using var internet = await FakeInternet.StartAsync(IPAddress.Parse(lan.TestAddress));
            internet.AddFile("a.bin", 100_000, 1);
            internet.AddFile("b.bin", 1_000_000, 2);
            internet.AddFile("c.bin", 3_000_000, 3);
            internet.SetFeed(Os, [("KB-1", "a.bin"), ("KB-2", "b.bin"), ("KB-3", "c.bin")]);
            await Task.WhenAll(Enumerable.Range(1, 5).Select(k => lan.StartNodeAsync(k, "--os-version", Os, "--update-interval", "0", "--source", "manifest:" + internet.FeedUrlTemplate)));
            var serverId = await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(10));
            var server = await ClusterWait.NodeWithIdAsync(lan.Nodes, serverId);
            var clients = lan.Nodes.Where(n => n != server).ToList();

            // Three clients update: every patch is downloaded once and pushed to the server.
            var neverUpdated = clients[3];
            var passes = new List<string>();
            foreach (var client in clients.Take(3))
            {
                var pass = await client.UpdateAsync();
                Assert.Equal(0, pass.ExitCode);
                passes.Add($"{client.Name}: " + string.Join(", ", pass.Outcomes.Select(o => $"{o.GetProperty("patch").GetString()} from {o.GetProperty("from").GetString()}")));
            }

            // On a loaded 2-core CI machine five nodes can miss heartbeats and elect again during the passes: what must
            // hold is that the LAN's current server has every patch (pushed to it, or pulled from the node that took the
            // push) before it is killed. The views and logs are printed when it does not.
            serverId = await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(10));
            server = await ClusterWait.NodeWithIdAsync(lan.Nodes, serverId);
            clients = lan.Nodes.Where(n => n != server).ToList();
            var held = 0;
            for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(10) && (held = (await server.PatchesAsync()).GetArrayLength()) != 3;)
            {
                await Task.Delay(100);
            }

            if (held != 3)
            {
                var views = await Task.WhenAll(lan.Nodes.Select(async n => (await n.StatusAsync()).ToString()));
                Assert.Fail($"the server {serverId} holds {held} patches after the passes:\n{string.Join('\n', passes)}\n{string.Join('\n', views)}\n--- server log ---\n{server.Output}\n--- first client log ---\n{clients[0].Output}");
            }
            var upstreamBefore = internet.TotalFileBytesServed;

            await server.KillAsync();
            var killed = Stopwatch.StartNew();

            // The fourth client never updated. It starts its pass at once, so its first lookup still goes to the dead
            // server; once that times out it must ask the newly elected one: every patch still comes from the LAN.
            var late = neverUpdated;
            Assert.NotSame(server, late); // a re-election during the passes could in theory have picked it
            var passing = late.UpdateAsync();
            var newServer = await ClusterWait.OneServerAsync(clients, TimeSpan.FromSeconds(15));
            var failover = killed.Elapsed;
            var result = await passing;
            output.WriteLine($"failover: new server {newServer} agreed by all 4 survivors {failover.TotalSeconds:0.00} s after the SIGKILL; late client's pass: {result.Stdout.Trim()}");
            Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + late.Output);
            Assert.Equal(3, result.Outcomes.Count);
            Assert.All(result.Outcomes, o => Assert.Equal("lan", o.GetProperty("from").GetString()));
            Assert.Equal(upstreamBefore, internet.TotalFileBytesServed);
            Assert.True(failover <= TimeSpan.FromSeconds(3), $"failover took {failover.TotalSeconds:0.00} s");
        }

        [RootFact]
        public async Task ServerKilledWhileAClientDownloadsUnderItsClaim_TheNewServerAdoptsTheClaim_AndThePatchLeavesTheInternetOnce()
        {
            const long Size = 24_000_000;
            await using var lan = await NetnsLan.CreateAsync(4);
            await using var internet = await FakeInternet.StartAsync(IPAddress.Parse(lan.TestAddress));
            internet.AddFile("big.bin", Size, 7);
            internet.SetFeed(Os, [("KB-BIG", "big.bin")]);
            internet.RateLimit = 2_000_000; // 12 s of download: the kill, the election and the second PC's lookup land inside it
            // Priorities fix the roles: node 1 serves first, node 3 takes over, node 2 (the holder) never serves, so the
            // claim must move to another node's server.
            int[] priorities = [100, 10, 90, 50];
            await Task.WhenAll(Enumerable.Range(1, 4).Select(k => lan.StartNodeAsync(k, "--os-version", Os, "--update-interval", "0", "--source", "manifest:" + internet.FeedUrlTemplate,
                "--priority", priorities[k - 1].ToString(System.Globalization.CultureInfo.InvariantCulture))));
            var serverId = await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(10));
            var server = await ClusterWait.NodeWithIdAsync(lan.Nodes, serverId);
            Assert.Same(lan.Nodes[0], server);
            var holder = lan.Nodes[1];

            var holding = holder.UpdateAsync();
            for (var waited = Stopwatch.StartNew(); internet.BytesServed("big.bin") < 1_000_000; await Task.Delay(50))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), "the holder's download did not start within 20 s");
            }

            Assert.False(holding.IsCompleted, "the holder's pass ended before the kill; the test would prove nothing");
            await server.KillAsync();
            var survivors = lan.Nodes.Where(n => n != server).ToList();
            var newServerId = await ClusterWait.OneServerAsync(survivors, TimeSpan.FromSeconds(15));
            var newServer = await ClusterWait.NodeWithIdAsync(survivors, newServerId);
            Assert.Same(lan.Nodes[2], newServer);
            var late = lan.Nodes[3];
            var servedAtLateStart = internet.BytesServed("big.bin");
            Assert.True(servedAtLateStart < Size, "the holder's download ended before the second PC asked; the test would prove nothing");

            var lateResult = await late.UpdateAsync();
            var holderResult = await holding;

            var context = $"\n--- new server log ---\n{newServer.Output}\n--- holder log ---\n{holder.Output}\n--- late log ---\n{late.Output}";
            output.WriteLine($"killed the server at {servedAtLateStart:N0} of {Size:N0} bytes downloaded; new server {newServerId}; holder: {holderResult.Stdout.Trim()}; late: {lateResult.Stdout.Trim()}");
            Assert.True(holderResult.ExitCode == 0, holderResult.Stdout + holderResult.Stderr + context);
            Assert.True(lateResult.ExitCode == 0, lateResult.Stdout + lateResult.Stderr + context);
            Assert.Equal("internet", Assert.Single(holderResult.Outcomes).GetProperty("from").GetString());
            Assert.True(Assert.Single(lateResult.Outcomes).GetProperty("from").GetString() == "lan", lateResult.Stdout + context);
            Assert.True(internet.Requests("big.bin") == 1, $"{internet.Requests("big.bin")} internet downloads of one patch" + context);
            Assert.Equal(Size, internet.BytesServed("big.bin"));
            Assert.Contains("adopted from", newServer.Output, StringComparison.Ordinal);
        }
    }

    [Trait("Category", "Network")]
    public sealed class Partitions(ITestOutputHelper output)
    {
        [RootFact]
        public async Task SplitThreeTwo_EachSideElects_AndAfterHealingOneServerHoldsTheUnion()
        {
            await using var lan = await NetnsLan.CreateAsync(5);
            await using var internet = await FakeInternet.StartAsync(IPAddress.Parse(lan.TestAddress));
            internet.AddFile("a1.bin", 200_000, 11);
            internet.AddFile("a2.bin", 300_000, 12);
            internet.AddFile("b1.bin", 400_000, 21);
            internet.AddFile("b2.bin", 500_000, 22);
            var feedA = internet.SetNamedFeed("side-a", Os, [("KB-A1", "a1.bin"), ("KB-A2", "a2.bin")]);
            var feedB = internet.SetNamedFeed("side-b", Os, [("KB-B1", "b1.bin"), ("KB-B2", "b2.bin")]);
            await Task.WhenAll(Enumerable.Range(1, 5).Select(k => lan.StartNodeAsync(k, "--os-version", Os, "--update-interval", "0", "--source", "manifest:" + (k <= 3 ? feedA : feedB))));
            await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(10));

            await lan.SplitAsync(4, 5);
            var sideA = lan.Nodes.Take(3).ToList();
            var sideB = lan.Nodes.Skip(3).ToList();
            var serverA = await ClusterWait.OneServerAsync(sideA, TimeSpan.FromSeconds(10));
            var serverB = await ClusterWait.OneServerAsync(sideB, TimeSpan.FromSeconds(10));
            Assert.NotEqual(serverA, serverB);
            var serverANode = await ClusterWait.NodeWithIdAsync(sideA, serverA);
            var serverBNode = await ClusterWait.NodeWithIdAsync(sideB, serverB);
            Assert.Equal(0, (await sideA.First(n => n != serverANode).UpdateAsync()).ExitCode);
            Assert.Equal(0, (await sideB.First(n => n != serverBNode).UpdateAsync()).ExitCode);

            var healed = Stopwatch.StartNew(); // includes re-cabling the bridge ports (a few `ip` commands)
            await lan.HealAsync();
            var winner = await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(15));
            var oneServer = healed.Elapsed;
            var winnerNode = await ClusterWait.NodeWithIdAsync(lan.Nodes, winner);
            var names = new HashSet<string>();
            while (names.Count < 4 && healed.Elapsed < TimeSpan.FromSeconds(20))
            {
                names = (await winnerNode.PatchesAsync()).EnumerateArray().Select(p => p.GetProperty("name").GetString()!).ToHashSet();
                await Task.Delay(100);
            }

            output.WriteLine($"split: side A elected {serverA}, side B {serverB}; after healing one server ({winner}) in {oneServer.TotalSeconds:0.00} s, union of databases in {healed.Elapsed.TotalSeconds:0.00} s");
            Assert.True(oneServer <= TimeSpan.FromSeconds(5), $"one server only after {oneServer.TotalSeconds:0.00} s");
            Assert.Equal(new HashSet<string> { "KB-A1", "KB-A2", "KB-B1", "KB-B2" }, names);
            Assert.Equal(0, (await winnerNode.StatusAsync()).GetProperty("blobs").GetProperty("heldElsewhere").GetInt32()); // all pulled
        }

        [RootFact]
        public async Task InterfaceThatGoesAndComesBack_IsFollowed_AndTheNodesConvergeAgain()
        {
            await using var lan = await NetnsLan.CreateAsync(2);
            await Task.WhenAll(lan.StartNodeAsync(1), lan.StartNodeAsync(2));
            await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(10));

            await lan.SetLinkAsync(1, up: false);
            // Each node alone: node 1's rescan (every 5 s) has seen eth0 go, node 2 is server of itself, and two heartbeat
            // timeouts (1.2 s each) have passed, so node 1, if it followed node 2, has elected itself too.
            var down = Stopwatch.StartNew();
            for (; !(lan.Nodes[0].Output.Contains("mDNS left eth0", StringComparison.Ordinal) && down.Elapsed > TimeSpan.FromSeconds(2.4)
                    && (await lan.Nodes[1].StatusAsync()).GetProperty("role").GetString() == "server"); await Task.Delay(100))
            {
                Assert.True(down.Elapsed < TimeSpan.FromSeconds(15), "node 1 did not leave eth0, or node 2 did not become server of itself, within 15 s");
            }

            await lan.SetLinkAsync(1, up: true);
            var back = Stopwatch.StartNew();
            var server = await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(15));
            var agreed = back.Elapsed;

            Assert.Contains("mDNS left eth0", lan.Nodes[0].Output);
            JsonElement status;
            do
            {
                status = await lan.Nodes[0].StatusAsync();
                Assert.True(back.Elapsed < TimeSpan.FromSeconds(10), "mDNS did not rejoin eth0 within 10 s");
                await Task.Delay(50);
            }
            while (!status.GetProperty("mdns").GetProperty("interfaces").EnumerateArray().Any(i => i.GetString() == "eth0"));

            var rejoined = back.Elapsed;
            Assert.Equal(1, status.GetProperty("members").GetInt32());
            output.WriteLine($"after node 1's interface came back: one server ({server}) after {agreed.TotalSeconds:0.00} s, mDNS on eth0 again after {rejoined.TotalSeconds:0.00} s");
        }
    }
}
