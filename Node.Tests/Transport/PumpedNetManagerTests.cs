using System.Net;
using System.Net.Sockets;
using LiteNetLib;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transport;

namespace PeerPatch.Node.Tests.Transport;

/// <summary>
/// The pump that runs LiteNetLib's manual mode (<see cref="PumpedNetManager"/>): a frame queued by another thread goes
/// out when that thread wakes the pump, not at the next tick; an idle pump waits a tick per turn (a wake byte left
/// unread would make it spin); a stopped pump lets go of its port. Loopback only.
/// </summary>
public sealed class PumpedNetManagerTests : IDisposable
{
    private const string Key = "pump-test";

    // Far beyond every bound below: whatever moves within them was moved by a wake or a datagram, not by a tick.
    private const int LongTick = 60_000;

    private readonly List<NetManager> _managers = [];
    private readonly List<PumpedNetManager> _pumps = [];

    [Fact]
    public async Task AFrameQueuedByAnotherThread_GoesOutOnWake_NotAtTheNextTick()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = StartServer(received);
        var (pump, listener) = StartPump();
        var connected = new TaskCompletionSource<NetPeer>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.PeerConnectedEvent += peer => connected.TrySetResult(peer);

        pump.Connect(new IPEndPoint(IPAddress.Loopback, server.LocalPort), Key); // LiteNetLib sends the request at once
        var peer = await connected.Task.WaitAsync(TimeSpan.FromSeconds(5)); // the accept arrives as a datagram

        await Task.Run(() =>
        {
            peer.Send("from another thread"u8.ToArray(), DeliveryMethod.ReliableUnordered); // queued for the pump's update
            pump.Wake();
        });

        Assert.Equal("from another thread", await received.Task.WaitAsync(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task AnIdlePump_WaitsATickPerTurn_AfterWakesFromOtherThreads_AndALateWakeByte()
    {
        var (pump, _) = StartPump(updateTime: 100);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                pump.Wake();
            }
        })));

        // A wake whose byte lands after the pump has taken its flag: only the byte is left to end the wait.
        await Task.Delay(200);
        using (var late = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            late.SendTo(new byte[1], pump.WakeEndPoint!);
        }

        await Task.Delay(200); // the wakes are read
        var before = pump.Turns;
        await Task.Delay(1000);
        var turns = pump.Turns - before;

        // About 10 turns at 100 ms; a wake byte nobody reads ends every wait at once (hundreds of thousands).
        Assert.InRange(turns, 1, 40);
    }

    [Fact]
    public void AStoppedPump_LetsGoOfItsPort_AndItsThread()
    {
        var (pump, _) = StartPump();
        var port = pump.LocalPort;
        pump.StopPumped(sendDisconnectMessages: true);

        Assert.False(pump.IsRunning);
        var again = new PumpedNetManager(new EventBasedNetListener(), new PeerNotFoundGuard(new NodeStats()));
        _pumps.Add(again);
        Assert.True(again.StartPumped(IPAddress.Loopback, port));
    }

    public void Dispose()
    {
        foreach (var pump in _pumps)
        {
            pump.StopPumped(sendDisconnectMessages: false);
        }

        foreach (var manager in _managers)
        {
            manager.Stop();
        }
    }

    private (PumpedNetManager Pump, EventBasedNetListener Listener) StartPump(int updateTime = LongTick)
    {
        var listener = new EventBasedNetListener();
        var pump = new PumpedNetManager(listener, new PeerNotFoundGuard(new NodeStats())) { IPv6Enabled = false, UpdateTime = updateTime, PingInterval = LongTick, DisconnectTimeout = LongTick };
        _pumps.Add(pump);
        Assert.True(pump.StartPumped(IPAddress.Loopback, 0));
        return (pump, listener);
    }

    /// <summary>A plain LiteNetLib node on its own threads, ticking fast, that reports the first frame it gets.</summary>
    private NetManager StartServer(TaskCompletionSource<string> received)
    {
        var listener = new EventBasedNetListener();
        listener.ConnectionRequestEvent += request => request.AcceptIfKey(Key);
        listener.NetworkReceiveEvent += (_, reader, _, _) => received.TrySetResult(System.Text.Encoding.UTF8.GetString(reader.GetRemainingBytesSpan()));
        // No pings and no timeout within the test: a datagram from it would run a turn of the pump, which sends the queued frame.
        var server = new NetManager(listener) { UnsyncedEvents = true, IPv6Enabled = false, UpdateTime = 5, PingInterval = LongTick, DisconnectTimeout = LongTick };
        _managers.Add(server);
        Assert.True(server.Start(IPAddress.Loopback, IPAddress.IPv6Any, 0));
        return server;
    }
}
