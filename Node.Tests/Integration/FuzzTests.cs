using System.Net;
using System.Net.Sockets;
using LiteNetLib;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Mdns;
using PeerPatch.Protocol.Messages;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Hostile input against running nodes (issue 5, part 3): 1,000,000 random and mutated datagrams at the server's
/// LiteNetLib port and 100,000 at the mDNS port, after which both nodes are alive, answer HTTP, still do a LAN
/// update pass over LiteNetLib, and the server's memory stayed bounded.
/// </summary>
[Collection(CpuHeavy.Name)]
[Trait("Category", "Network")]
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int LanDatagrams = 1_000_000;
    private const int MdnsDatagrams = 100_000;
    private const long MemoryBudget = 50L << 20;
    private const string Sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Fact]
    public async Task AMillionHostileDatagrams_LeaveTheNodesAliveAnsweringAndBounded()
    {
        await using var lan = await Lan.StartAsync([200_000], clients: 1);
        Assert.Equal(0, (await lan.Clients[0].UpdateAsync()).ExitCode); // warm: code paths compiled, a LAN session open
        var idle = lan.Server.Memory().Rss;
        var target = new IPEndPoint(IPAddress.Loopback, lan.Server.Udp);
        var random = new Random(20261124);

        long peak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, lan.Server.Memory().Rss);
                await Task.Delay(50);
            }
        });

        // 1. LiteNetLib's own parser: random bytes, and random bytes behind every possible packet-type byte.
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var buffer = new byte[1500];
        var sent = 0;
        for (; sent < 600_000; sent++)
        {
            var length = random.Next(0, 1400);
            random.NextBytes(buffer.AsSpan(0, length));
            if (sent % 2 == 1 && length > 0)
            {
                buffer[0] = (byte)(sent / 2 % 32); // LiteNetLib's PacketProperty values sit in the low bits of the first byte
            }

            raw.SendTo(buffer.AsSpan(0, length), SocketFlags.None, target);
            await PaceAsync(sent);
        }

        // 2. PeerPatch's decoder behind LiteNetLib: unconnected messages carrying valid envelopes with random bytes flipped.
        var seeds = Seeds().Select(m => WireCodec.Encode(Envelope.Of((ulong)random.Next(), m))).ToList();
        var listener = new EventBasedNetListener();
        var net = new NetManager(listener) { UnconnectedMessagesEnabled = true };
        Assert.True(net.Start(IPAddress.Loopback, IPAddress.IPv6Loopback, 0));
        try
        {
            for (; sent < LanDatagrams; sent++)
            {
                var bytes = seeds[random.Next(seeds.Count)].ToArray();
                for (var flips = random.Next(0, 4); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                net.SendUnconnectedMessage(bytes, target);
                await PaceAsync(sent);
            }
        }
        finally
        {
            net.Stop();
        }

        // 3. mDNS: random bytes and mutated real queries and answers, unicast to the mDNS port on loopback.
        var mdnsSeeds = new[]
        {
            DnsCodec.Encode(DnsMessage.Query(new DnsQuestion(DnsName.Parse("_peerpatch._udp.local"), DnsType.Ptr))),
            DnsCodec.Encode(DnsMessage.Response([new PtrRecord(DnsName.Parse("_peerpatch._udp.local"), 120, DnsName.Parse("peerpatch-nfuzz._peerpatch._udp.local")),
                new TxtRecord(DnsName.Parse("peerpatch-nfuzz._peerpatch._udp.local"), 120, true, ["v=1", "id=n0123456789abcdef", "role=server", "term=99", "http=1", "prio=1", "since=1"])])),
        };
        var mdns = new IPEndPoint(IPAddress.Loopback, LoopbackMdns.PortFor(lan.Server.DataDir)); // this LAN's mDNS port
        for (var i = 0; i < MdnsDatagrams; i++)
        {
            byte[] bytes;
            if (i % 2 == 0)
            {
                bytes = new byte[random.Next(0, 600)];
                random.NextBytes(bytes);
            }
            else
            {
                bytes = mdnsSeeds[random.Next(mdnsSeeds.Length)].ToArray();
                for (var flips = random.Next(1, 6); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }
            }

            raw.SendTo(bytes, SocketFlags.None, mdns);
            await PaceAsync(i);
        }

        await Task.Delay(1000); // let the nodes drain their sockets
        await sampling.CancelAsync();
        await sampler;

        // Alive, answering, still speaking the LAN protocol, memory bounded.
        Assert.False(lan.Server.HasExited, lan.Server.Output);
        Assert.False(lan.Clients[0].HasExited, lan.Clients[0].Output);
        var status = await lan.Server.StatusAsync();
        var bad = status.GetProperty("stats").GetProperty("badDatagrams").GetInt64();
        var malformed = status.GetProperty("mdns").GetProperty("malformed").GetInt64();
        var more = lan.Internet.AddFile("after.bin", 300_000, seed: 99);
        lan.Internet.SetFeed(Lan.Os, [(lan.Patches[0].Patch, "f0.bin"), ("KB-AFTER", "after.bin")]);
        using var dir = new TempDir();
        await using var fresh = await NodeProcess.StartAsync("fresh", dir.Sub("fresh"), "--server", lan.Server.ServerAddress, "--source", "manifest:" + lan.Internet.FeedUrlTemplate);
        var pass = await fresh.UpdateAsync();
        Assert.True(pass.ExitCode == 0, pass.Stdout + pass.Stderr + fresh.Output);
        Assert.Equal(lan.Patches[0].Content.Sha256, pass.Outcomes.Single(o => o.GetProperty("patch").GetString() == lan.Patches[0].Patch).GetProperty("sha256").GetString());
        Assert.Equal("lan", pass.Outcomes.Single(o => o.GetProperty("patch").GetString() == lan.Patches[0].Patch).GetProperty("from").GetString());
        Assert.Equal(more.Sha256, pass.Outcomes.Single(o => o.GetProperty("patch").GetString() == "KB-AFTER").GetProperty("sha256").GetString());
        Assert.True(bad > 0, "no datagram reached PeerPatch's decoder");
        Assert.True(peak - idle <= MemoryBudget, $"server RSS grew {(peak - idle) >> 20} MB under the flood");
        output.WriteLine($"fuzz: {LanDatagrams:N0} datagrams at the LiteNetLib port (600,000 raw, 400,000 mutated envelopes), {MdnsDatagrams:N0} at the mDNS port; " +
            $"server counted {bad:N0} bad datagrams and {malformed:N0} malformed mDNS packets; RSS {idle >> 20} MB idle, peak {peak >> 20} MB (+{(peak - idle) >> 20} MB); afterwards a new node's pass got its patch from the LAN");
    }

    private static IEnumerable<IMessage> Seeds() =>
    [
        new Hello("n0123456789abcdef", "abcdef0123456789", "test-1-amd64", 47471, "0.1.0"),
        new Lookup("test-1-amd64", "KB1", Sha, 1234, "n0123456789abcdef"),
        new ClaimRenew(42, 1000),
        new ClaimRelease(42, "fuzz"),
        new PushDone(42, Sha, 1234),
        new Heartbeat("n0123456789abcdef", 1L << 50, int.MaxValue, 1, 47471),
        LookupResult.Hit(Sha, 1234, "/v1/blobs/" + Sha),
    ];

    /// <summary>Yields now and then so the nodes (on the same 2 cores) keep up; the count sent is what matters.</summary>
    private static ValueTask PaceAsync(int i) => i % 2000 == 1999 ? new ValueTask(Task.Delay(1)) : ValueTask.CompletedTask;
}
