using System.Net;
using System.Net.Sockets;
using LiteNetLib;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transport;

namespace PeerPatch.Node.Tests.Transport;

/// <summary>
/// The pump that runs LiteNetLib's manual mode (<see cref="PumpedNetManager"/>): a frame queued by another thread goes
/// out when that thread flushes, not at the next tick; an idle pump waits a tick per turn (a wake byte left unread, or an
/// empty datagram LiteNetLib never reads, would make it spin); a datagram that asks for nothing runs no update over
/// the peers; a stopped pump ends its thread and lets go of its port. Loopback only.
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
        var server = StartPlainNode(received);
        var (pump, listener) = StartPump();
        var connected = new TaskCompletionSource<NetPeer>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.PeerConnectedEvent += peer => connected.TrySetResult(peer);

        // LiteNetLib sends the request at once, but an accept that overtakes the new peer's registration is dropped and
        // the request is repeated by an update (every 500 ms of them): flushes run those until the pump is connected.
        pump.ConnectFromAnyThread(new IPEndPoint(IPAddress.Loopback, server.LocalPort), Key);
        for (var waited = 0; !connected.Task.IsCompleted && waited < 5000; waited += 50)
        {
            pump.Flush();
            await Task.Delay(50);
        }

        var peer = await connected.Task.WaitAsync(TimeSpan.FromSeconds(1));
        await Task.Delay(200); // the last of those flushes has run its update: none is left to send the frame below

        await Task.Run(() =>
        {
            peer.Send("from another thread"u8.ToArray(), DeliveryMethod.ReliableUnordered); // queued for the pump's update
            pump.Flush();
        });

        Assert.Equal("from another thread", await received.Task.WaitAsync(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task AnAnswerQueuedOnThePump_GoesOutAtTheEndOfItsTurn_NotAtTheNextTick()
    {
        var (pump, listener) = StartPump();
        listener.ConnectionRequestEvent += request => request.AcceptIfKey(Key);
        listener.NetworkReceiveEvent += (peer, _, _, _) =>
        {
            peer.Send("answer"u8.ToArray(), DeliveryMethod.ReliableUnordered); // on the pump, as LanTransport answers
            pump.Flush();
        };
        var answered = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = StartPlainNode(answered);
        var server = client.Connect(new IPEndPoint(IPAddress.Loopback, pump.LocalPort), Key);
        for (var waited = 0; server.ConnectionState != ConnectionState.Connected && waited < 5000; waited += 10)
        {
            await Task.Delay(10);
        }

        server.Send("question"u8.ToArray(), DeliveryMethod.ReliableUnordered);

        Assert.Equal("answer", await answered.Task.WaitAsync(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task AnIdlePump_WaitsATickPerTurn_AfterWakesFromOtherThreads_AndALateWakeByte()
    {
        var (pump, _) = StartPump(updateTime: 100);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                pump.Flush();
            }
        })));

        // A wake whose byte lands after the pump has taken its flag: only the byte is left to end the wait.
        await Task.Delay(200);
        pump.SendWakeByteOnly();

        await Task.Delay(200); // the wakes are read
        var before = pump.Turns;
        await Task.Delay(1000);
        var turns = pump.Turns - before;

        // About 10 turns at 100 ms; a wake byte nobody reads ends every wait at once (hundreds of thousands).
        Assert.InRange(turns, 1, 40);
    }

    [Fact]
    public async Task EmptyDatagrams_ToItsPortAndToItsWakeSocket_NeitherSpinThePump_NorBlockWhatFollows()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (pump, listener) = StartPump(updateTime: 100);
        pump.UnconnectedMessagesEnabled = true;
        listener.NetworkReceiveUnconnectedEvent += (_, reader, _) => received.TrySetResult(System.Text.Encoding.UTF8.GetString(reader.GetRemainingBytesSpan()));
        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        stranger.SendTo([], new IPEndPoint(IPAddress.Loopback, pump.LocalPort)); // as `nmap -sU` sends
        stranger.SendTo([], pump.WakeEndPoint!); // the wake socket takes only its own bytes
        await Task.Delay(200);

        var before = pump.Turns;
        await Task.Delay(1000);
        Assert.InRange(pump.Turns - before, 1, 40);

        var sender = new NetManager(new EventBasedNetListener()) { IPv6Enabled = false };
        _managers.Add(sender);
        Assert.True(sender.Start(IPAddress.Loopback, IPAddress.IPv6Any, 0));
        sender.SendUnconnectedMessage("after the empty one"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, pump.LocalPort));
        Assert.Equal("after the empty one", await received.Task.WaitAsync(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task ADatagramThatAsksForNothing_RunsATurn_ButNoUpdateOverThePeers()
    {
        var received = new SemaphoreSlim(0);
        var (pump, listener) = StartPump();
        pump.UnconnectedMessagesEnabled = true;
        listener.NetworkReceiveUnconnectedEvent += (_, _, _) => received.Release();
        var sender = new NetManager(new EventBasedNetListener()) { IPv6Enabled = false };
        _managers.Add(sender);
        Assert.True(sender.Start(IPAddress.Loopback, IPAddress.IPv6Any, 0));
        await Task.Delay(100);

        var (turns, updates) = (pump.Turns, pump.Updates);
        for (var i = 0; i < 20; i++)
        {
            sender.SendUnconnectedMessage("heartbeat"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, pump.LocalPort));
            Assert.True(await received.WaitAsync(TimeSpan.FromSeconds(3)));
        }

        await Task.Delay(50); // the last turn ends
        Assert.True(pump.Turns > turns);
        Assert.Equal(updates, pump.Updates); // the tick is a minute away, and nothing asked for a flush
    }

    [Fact]
    public void AStoppedPump_EndsItsThread_AndLetsGoOfItsPort()
    {
        var (pump, _) = StartPump();
        var port = pump.LocalPort;
        Assert.True(pump.PumpAlive);
        pump.StopPumped(sendDisconnectMessages: true);

        Assert.False(pump.IsRunning);
        Assert.False(pump.PumpAlive);
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

    /// <summary>A plain LiteNetLib node on its own threads, ticking fast, that accepts connections and reports the first frame it gets.</summary>
    private NetManager StartPlainNode(TaskCompletionSource<string> received)
    {
        var listener = new EventBasedNetListener();
        listener.ConnectionRequestEvent += request => request.AcceptIfKey(Key);
        listener.NetworkReceiveEvent += (_, reader, _, _) => received.TrySetResult(System.Text.Encoding.UTF8.GetString(reader.GetRemainingBytesSpan()));
        // No pings and no timeout within the test: nothing from it may be what moves the pump's frames.
        var server = new NetManager(listener) { UnsyncedEvents = true, IPv6Enabled = false, UpdateTime = 5, PingInterval = LongTick, DisconnectTimeout = LongTick };
        _managers.Add(server);
        Assert.True(server.Start(IPAddress.Loopback, IPAddress.IPv6Any, 0));
        return server;
    }
}
