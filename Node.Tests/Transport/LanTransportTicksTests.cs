using System.Diagnostics;
using System.Net;
using LiteNetLib;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Tests.Transport;

/// <summary>
/// The slow tick of an idle transport (<see cref="TickPacer"/>) through real transports on loopback: an idle
/// connection outlives a quiet spell longer than the disconnect timeout, and the first request after it is answered
/// without a retransmission and switches both ends back to fast ticks.
/// </summary>
[Trait("Category", "Network")]
public sealed class LanTransportTicksTests : IAsyncDisposable
{
    private static readonly TransportOptions Options = new()
    {
        QuietAfter = TimeSpan.FromMilliseconds(300),
        DisconnectTimeout = TimeSpan.FromMilliseconds(2500),
    };

    private readonly List<LanTransport> _transports = [];

    [Fact]
    public async Task AnIdleConnection_TicksSlowly_SurvivesLongerThanTheDisconnectTimeout_AndWakesForTheNextRequest()
    {
        var handler = new Answers();
        var server = await StartAsync(handler);
        var client = await StartAsync(null);
        var peer = await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.LocalPort), CancellationToken.None);
        var lookup = new Lookup("test-1-amd64", new string('k', ProtocolLimits.MaxPatchNameLength), null, -1, "n1");
        Assert.IsType<LookupResult>(await client.RequestAsync(peer, lookup, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal(TickPacer.ActiveMilliseconds, client.TickMilliseconds);

        await WaitAsync(() => client.TickMilliseconds == TickPacer.QuietMilliseconds && server.TickMilliseconds == TickPacer.QuietMilliseconds, "both ends to tick slowly");
        await Task.Delay(Options.DisconnectTimeout + TimeSpan.FromSeconds(1.5)); // idle, quiet: only pings keep it alive
        Assert.Equal((1, 1), (client.PeerCount, server.PeerCount));
        Assert.Equal((TickPacer.QuietMilliseconds, TickPacer.QuietMilliseconds), (client.TickMilliseconds, server.TickMilliseconds));

        // MTU discovery probes each peer a step a second up to Ethernet's size: once both ends are there no probe is left
        // to blur the byte count below (and each end has found that loopback carries the largest step).
        await WaitAsync(() => client.PeerMtus().SequenceEqual([NetConstants.MaxPacketSize]) && server.PeerMtus().SequenceEqual([NetConstants.MaxPacketSize]), "MTU discovery to reach the largest step at both ends");
        var before = server.BytesReceived;
        var answer = await client.RequestAsync(peer, lookup, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal((TickPacer.ActiveMilliseconds, TickPacer.ActiveMilliseconds), (client.TickMilliseconds, server.TickMilliseconds));
        await Task.Delay(TimeSpan.FromMilliseconds(600)); // far beyond LiteNetLib's resend delay on loopback (25 ms + 2.1 RTT)

        Assert.IsType<LookupResult>(answer);
        Assert.Equal(2, Volatile.Read(ref handler.Handled));
        var request = WireCodec.Encode(Envelope.Of(1, lookup)).Length;
        var received = server.BytesReceived - before; // the request once, an ack, perhaps a ping: a resent request would double it
        Assert.True(received < request * 3 / 2, $"the server received {received} bytes for a request of {request}: it was sent again");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var transport in _transports)
        {
            await transport.StopAsync(CancellationToken.None);
        }
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), $"waited 10 s for {what}");
            await Task.Delay(20);
        }
    }

    private async Task<LanTransport> StartAsync(ILanRequestHandler? handler)
    {
        var transport = new LanTransport(new CoreOptions { Bind = "127.0.0.1", Port = 0 }, Options, new NodeStats(), TimeProvider.System, NullLogger<LanTransport>.Instance, handler: handler);
        transport.CountPackets();
        _transports.Add(transport);
        await transport.StartAsync(CancellationToken.None);
        return transport;
    }

    private sealed class Answers : ILanRequestHandler
    {
        public int Handled;

        public IMessage Handle(IMessage request, IPEndPoint from)
        {
            Interlocked.Increment(ref Handled);
            return LookupResult.Miss(1, 15000);
        }
    }
}
