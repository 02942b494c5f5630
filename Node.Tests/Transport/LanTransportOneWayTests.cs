using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Tests.Transport;

/// <summary>Keyed one-way datagrams through real transports on loopback: a copy sealed for B reaching C is refused and counted.</summary>
[Trait("Category", "Network")]
public sealed class LanTransportOneWayTests : IAsyncDisposable
{
    private static readonly ClusterKey Key = ClusterKey.Generate();
    private static readonly Heartbeat Beat = new("n0", 3, 10, 1000, 47471);
    private readonly List<LanTransport> _transports = [];

    [Fact]
    public async Task AHeartbeatSealedForB_ButSentToC_IsRefusedAndCountedByC_WhileBTakesItsOwn()
    {
        var (server, _) = await StartAsync("n0");
        var (b, bStats) = await StartAsync("nB");
        var (c, cStats) = await StartAsync("nC");
        var atB = new TaskCompletionSource<Heartbeat>(TaskCreationOptions.RunContinuationsAsynchronously);
        var takenByC = 0;
        b.HeartbeatReceived += (beat, _) => atB.TrySetResult(beat);
        c.HeartbeatReceived += (_, _) => Interlocked.Increment(ref takenByC);

        for (var i = 0; i < 3; i++)
        {
            server.SendUnconnected(Beat, "nB", new IPEndPoint(IPAddress.Loopback, c.LocalPort)); // as an eavesdropper would replay B's copies to C
        }

        var waited = Stopwatch.StartNew();
        while (cStats.BadDatagrams < 3 && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(10);
        }

        server.SendUnconnected(Beat, "nB", new IPEndPoint(IPAddress.Loopback, b.LocalPort));

        Assert.Equal(Beat, await atB.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(3, cStats.BadDatagrams); // each refusal counted
        Assert.Equal(0, Volatile.Read(ref takenByC));
        Assert.Equal(0, bStats.BadDatagrams);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var transport in _transports)
        {
            await transport.StopAsync(CancellationToken.None);
        }
    }

    private async Task<(LanTransport Transport, NodeStats Stats)> StartAsync(string id)
    {
        var stats = new NodeStats();
        var auth = new ClusterAuth(Key, new NodeIdentity(id, "i-" + id, "test-1-amd64", "0.1.0"), TimeProvider.System);
        var transport = new LanTransport(new CoreOptions { Bind = "127.0.0.1", Port = 0 }, new TransportOptions(), stats, TimeProvider.System, NullLogger<LanTransport>.Instance, auth);
        _transports.Add(transport);
        await transport.StartAsync(CancellationToken.None);
        return (transport, stats);
    }
}
