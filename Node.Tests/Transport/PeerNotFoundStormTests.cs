using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LiteNetLib;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Tests.Transport;

/// <summary>
/// One forged LiteNetLib "peer not found" datagram between two real transports that have no connection to each other
/// (source: node A's port, sent to node B, from a raw socket as any PC on the LAN could) must not start a storm. A raw
/// UDP socket counts every datagram between the two ports on loopback. Needs root for the raw sockets.
/// </summary>
[Trait("Category", "Network")]
public sealed class PeerNotFoundStormTests : IAsyncDisposable
{
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(1);
    private readonly List<LanTransport> _transports = [];

    [RootFact]
    public async Task AForgedPeerNotFound_BetweenTwoStrangers_IsAnsweredOnce_NotBouncedForEver()
    {
        var (a, aStats) = await StartAsync();
        var (b, bStats) = await StartAsync();
        using var sniffer = new UdpSniffer(a.LocalPort, b.LocalPort);

        Forge(from: a.LocalPort, to: b.LocalPort, [PeerNotFoundGuard.PeerNotFound, 0]); // B answers A with [0x0f, 1]
        var seen = await sniffer.CountForAsync(Watch);

        // The forged datagram and B's one answer; LiteNetLib unguarded bounces the answer between the two for ever.
        Assert.True(seen <= 2, $"{seen} datagrams between A and B in {Watch.TotalSeconds} s after one forged datagram");
        Assert.Equal((1, 0), (aStats.BadDatagrams, bStats.BadDatagrams)); // A dropped B's answer
    }

    [RootFact]
    public async Task AForgedSecondReply_IsDroppedAndCounted()
    {
        var (a, _) = await StartAsync();
        var (b, bStats) = await StartAsync();
        using var sniffer = new UdpSniffer(a.LocalPort, b.LocalPort);

        Forge(from: a.LocalPort, to: b.LocalPort, [PeerNotFoundGuard.PeerNotFound, 1]);
        var seen = await sniffer.CountForAsync(Watch);

        Assert.Equal(1, seen); // the forged one, unanswered
        Assert.Equal(1, bStats.BadDatagrams);
    }

    [Fact]
    public async Task APeerForgottenByItsServer_StillLearnsItAtOnce_FromTheSecondReply()
    {
        var key = new TransportOptions().ConnectionKey;
        var server = StartBareServer(0, key);
        var port = server.LocalPort;
        var (client, clientStats) = await StartAsync();
        var peer = await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), CancellationToken.None);
        server.Stop(sendDisconnectMessages: false); // gone without a word: a crash, a reboot
        var restarted = StartBareServer(port, key); // the same address, no memory of the client
        try
        {
            var waited = Stopwatch.StartNew();
            var failure = await Assert.ThrowsAnyAsync<Exception>(() => client.RequestAsync(peer, new Lookup("test-1-amd64", "p", null, -1, "n1"), TimeSpan.FromSeconds(10), CancellationToken.None));

            // PeerNotFound, the client's "network changed", then the restarted node's second reply: the client has a
            // peer for it, so the guard lets it through and LiteNetLib drops the connection long before its timeout.
            Assert.True(waited.Elapsed < new TransportOptions().DisconnectTimeout / 2, $"the request failed after {waited.Elapsed.TotalMilliseconds:F0} ms: {failure.Message}");
            Assert.Equal(0, clientStats.BadDatagrams);
        }
        finally
        {
            restarted.Stop();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var transport in _transports)
        {
            await transport.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>A plain LiteNetLib node that accepts every connection with <paramref name="key"/> and answers nothing.</summary>
    private static NetManager StartBareServer(int port, string key)
    {
        var listener = new EventBasedNetListener();
        listener.ConnectionRequestEvent += request => request.AcceptIfKey(key);
        var net = new NetManager(listener) { UnsyncedEvents = true, IPv6Enabled = false };
        Assert.True(net.Start(IPAddress.Loopback, IPAddress.IPv6Any, port));
        return net;
    }

    /// <summary>Sends one UDP datagram from 127.0.0.1:<paramref name="from"/> (forged: another process owns that port).</summary>
    private static void Forge(int from, int to, byte[] payload)
    {
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Raw); // IP_HDRINCL
        var packet = new byte[28 + payload.Length];
        packet[0] = 0x45; // IPv4, 20-byte header
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        packet[8] = 64; // TTL
        packet[9] = (byte)ProtocolType.Udp;
        IPAddress.Loopback.TryWriteBytes(packet.AsSpan(12), out _);
        IPAddress.Loopback.TryWriteBytes(packet.AsSpan(16), out _); // the kernel fills in the id and the header checksum
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(20), (ushort)from);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(22), (ushort)to);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(24), (ushort)(8 + payload.Length)); // UDP checksum 0: none
        payload.CopyTo(packet, 28);
        raw.SendTo(packet, new IPEndPoint(IPAddress.Loopback, 0));
    }

    private async Task<(LanTransport Transport, NodeStats Stats)> StartAsync()
    {
        var stats = new NodeStats();
        var transport = new LanTransport(new CoreOptions { Bind = "127.0.0.1", Port = 0 }, new TransportOptions(), stats, TimeProvider.System, NullLogger<LanTransport>.Instance);
        _transports.Add(transport);
        await transport.StartAsync(CancellationToken.None);
        return (transport, stats);
    }

    /// <summary>Counts UDP datagrams on loopback between two ports, either way (a raw socket sees a copy of each).</summary>
    private sealed class UdpSniffer : IDisposable
    {
        private readonly Socket _raw = new(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Udp);
        private readonly int _a;
        private readonly int _b;

        public UdpSniffer(int a, int b)
        {
            (_a, _b) = (a, b);
            _raw.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        }

        public async Task<int> CountForAsync(TimeSpan span)
        {
            var buffer = new byte[2048];
            var count = 0;
            using var stop = new CancellationTokenSource(span);
            try
            {
                while (true)
                {
                    var length = await _raw.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                    var udp = (buffer[0] & 0x0F) * 4;
                    if (length >= udp + 8)
                    {
                        var (source, destination) = (BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(udp)), BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(udp + 2)));
                        count += (source, destination) == (_a, _b) || (source, destination) == (_b, _a) ? 1 : 0;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return count;
            }
        }

        public void Dispose() => _raw.Dispose();
    }
}
