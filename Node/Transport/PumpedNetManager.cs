using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LiteNetLib;
using LiteNetLib.Layers;
using LiteNetLib.Utils;

namespace PeerPatch.Node.Transport;

/// <summary>
/// LiteNetLib's <see cref="NetManager"/> run in its manual mode by one thread of ours, the pump: it waits for a
/// datagram (or a wake), reads what arrived, lets the handlers answer on the same thread, then runs LiteNetLib's update,
/// which sends those answers, merged, with their acks. LiteNetLib's own mode runs two threads, one receiving and one
/// sending, and each answer crossed between them: a lock on the reliable channel, an event set and a futex wake per
/// answer. Measured on the lookup bench, that hand-off kept the Native AOT node behind ReadyToRun when lookups were
/// pipelined (docs/benchmarks.md). LiteNetLib's manual mode expects a game loop that calls it every frame; this class is
/// the loop, written here because LiteNetLib offers none that waits on its socket.
/// </summary>
/// <remarks>
/// A turn of the pump: wait (at most until the next tick, <see cref="LiteNetManager.UpdateTime"/>) for a datagram or a
/// wake; read up to LiteNetLib's 256 datagrams, whose events run on the pump; then LiteNetLib's update, which walks
/// every peer, but only when something asked for it (<see cref="Flush"/>) or the tick is due, so that a datagram that
/// needs no answer (a heartbeat, a ping) does not cost a walk over hundreds of peers. Other threads (this node's own
/// requests, the pacer) queue their frames with LiteNetLib as before and call <see cref="Flush"/>, which sends one
/// byte to the pump's wake socket on loopback (connected to itself: nothing else reaches it). Acks, retransmits, pings
/// and timeouts keep LiteNetLib's pace, and a turn that stalled (a blocked log write) counts as at most one second.
/// Connects from other threads go through <see cref="ConnectFromAnyThread(IPEndPoint, string)"/>: the update removes
/// timed-out peers without LiteNetLib's peer lock (its manual mode assumes one thread), so the two are kept apart here.
/// LiteNetLib raises an event on the thread that caused it: the pump for what arrives, the caller for a peer it
/// disconnects itself.
/// </remarks>
internal sealed class PumpedNetManager : NetManager
{
    private static readonly byte[] WakeByte = [0];
    private static readonly TimeSpan LongestStep = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(2);
    private readonly List<Socket> _ready = new(2);
    private readonly byte[] _scratch = new byte[16];
    private readonly Lock _peerSet = new();
    private Socket? _wake;
    private Thread? _thread;
    private volatile bool _pumping;
    private int _wakePending;
    private int _pumpThreadId;
    private bool _flush; // the pump's own: set by Flush on its thread
    private long _turns;
    private long _updates;

    public PumpedNetManager(INetEventListener listener, PacketLayerBase layer)
        : base(listener, layer)
    {
        // Manual mode receives through .NET's socket, and LiteNetLib finds the sender's peer by its SocketAddress only
        // when its peers hash that address, which they do with native sockets off. With them on, every datagram got a
        // new IPEndPoint and a second lookup, and the peer-not-found guard saw a stranger in every peer.
        UseNativeSockets = false;
    }

    /// <summary>Raised when one turn of the pump threw (the pump goes on).</summary>
    public event Action<Exception>? PumpFailed;

    /// <summary>Where a wake's byte goes (tests).</summary>
    internal EndPoint? WakeEndPoint => _wake?.LocalEndPoint;

    /// <summary>Turns the pump has run (tests: an idle pump takes one per tick).</summary>
    internal long Turns => Interlocked.Read(ref _turns);

    /// <summary>LiteNetLib updates the pump has run (tests: a datagram that asks for nothing runs none).</summary>
    internal long Updates => Interlocked.Read(ref _updates);

    /// <summary>Tests: a wake's byte alone, as when it lands after the pump has taken the wake's flag.</summary>
    internal void SendWakeByteOnly() => _wake?.Send(WakeByte);

    /// <summary>True while the pump's thread runs (tests).</summary>
    internal bool PumpAlive => _thread?.IsAlive == true;

    /// <summary>Binds <paramref name="address"/>:<paramref name="port"/> and starts the pump; false when the port is taken.</summary>
    public bool StartPumped(IPAddress address, int port)
    {
        IPv6Enabled = false; // the pump waits on the IPv4 socket only
        if (!StartInManualMode(address, IPAddress.IPv6Any, port))
        {
            return false;
        }

        var wake = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            wake.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            wake.Connect(wake.LocalEndPoint!); // only its own bytes: the kernel drops every other sender's
            wake.Blocking = false;
        }
        catch (SocketException e)
        {
            wake.Dispose();
            Stop(sendDisconnectMessages: false);
            throw new InvalidOperationException($"cannot bind the LAN transport's wake socket on loopback: {e.Message}", e);
        }

        _wake = wake;
        _pumping = true;
        _thread = new Thread(Pump) { Name = $"LanPump({LocalPort})", IsBackground = true };
        _thread.Start();
        return true;
    }

    /// <summary>
    /// Frames were queued: send them now. On the pump's thread, at the end of this turn; on any other thread, the pump's
    /// wait ends (one byte to the wake socket, none while a wake is already pending).
    /// </summary>
    public void Flush()
    {
        if (Environment.CurrentManagedThreadId == _pumpThreadId)
        {
            _flush = true;
            return;
        }

        if (Interlocked.Exchange(ref _wakePending, 1) == 1)
        {
            return;
        }

        try
        {
            _wake?.Send(WakeByte);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Stopping, or the byte could not go: let the next flush try again (this one waits for the tick).
            Volatile.Write(ref _wakePending, 0);
        }
    }

    /// <summary><see cref="LiteNetManager.Connect(IPEndPoint, string)"/>, kept apart from the pump's update.</summary>
    public NetPeer? ConnectFromAnyThread(IPEndPoint target, string key)
    {
        lock (_peerSet)
        {
            return Connect(target, key);
        }
    }

    /// <summary><see cref="NetManager.Connect(IPEndPoint, NetDataWriter)"/>, kept apart from the pump's update.</summary>
    public NetPeer? ConnectFromAnyThread(IPEndPoint target, NetDataWriter data)
    {
        lock (_peerSet)
        {
            return Connect(target, data);
        }
    }

    /// <summary>Stops the pump (its wait is at most one tick), then LiteNetLib, on the caller's thread.</summary>
    public void StopPumped(bool sendDisconnectMessages)
    {
        _pumping = false;
        if (_thread is { } thread)
        {
            Interlocked.Exchange(ref _wakePending, 0);
            Flush();
            if (Environment.CurrentManagedThreadId != _pumpThreadId && !thread.Join(StopWait))
            {
                PumpFailed?.Invoke(new TimeoutException($"the pump did not stop within {StopWait.TotalSeconds:0} s (a handler or a log write blocked it): stopping LiteNetLib under it"));
            }
        }

        // Not for ever behind a pump stuck inside an update: a stop must end.
        var locked = _peerSet.TryEnter(StopWait);
        try
        {
            Stop(sendDisconnectMessages);
        }
        finally
        {
            if (locked)
            {
                _peerSet.Exit();
            }
        }

        _wake?.Dispose();
    }

    private void Pump()
    {
        _pumpThreadId = Environment.CurrentManagedThreadId;
        var clock = Stopwatch.StartNew();
        var lastUpdate = clock.Elapsed;
        while (_pumping)
        {
            try
            {
                Turn(clock, ref lastUpdate);
            }
            catch (Exception) when (!_pumping)
            {
                return; // LiteNetLib closed its socket under the turn
            }
            catch (Exception e)
            {
                PumpFailed?.Invoke(e);
                Thread.Sleep(10); // a fault that repeats every turn must not spin a core
            }
        }
    }

    private void Turn(Stopwatch clock, ref TimeSpan lastUpdate)
    {
        var socket = _udpSocketv4;
        var tick = TimeSpan.FromMilliseconds(UpdateTime);
        var woken = Interlocked.Exchange(ref _wakePending, 0) == 1;
        var wait = tick - (clock.Elapsed - lastUpdate);
        if (!woken && !_flush && wait > TimeSpan.Zero && socket.Available == 0)
        {
            _ready.Clear();
            _ready.Add(socket);
            _ready.Add(_wake!);
            // Whole milliseconds, rounded up: on Linux Select waits in poll()'s milliseconds and rounds a shorter
            // wait down to none, which would spin the turns before every tick.
            Socket.Select(_ready, null, null, (int)Math.Ceiling(wait.TotalMilliseconds) * 1000);
            if (_ready.Contains(_wake!))
            {
                Interlocked.Exchange(ref _wakePending, 0); // this byte's wake: not another turn for it
                woken = true;
            }

            if (_ready.Contains(socket) && socket.Available == 0)
            {
                // Readable with nothing to read: an empty datagram at the head of the queue. LiteNetLib's source reads
                // only while bytes are available, so there it would sit for ever and Select would return at once
                // (2.1.5 was seen to read it anyway: PumpedNetManagerTests passes without this line).
                socket.Receive(_scratch, SocketFlags.None, out _); // an error code, not a throw, for a pending socket error
            }
        }

        if (woken)
        {
            DrainWakes(); // a byte that lands after this is seen by the next turn's Select
        }

        PollEvents();
        var now = clock.Elapsed;
        if (woken || _flush || now - lastUpdate >= tick)
        {
            _flush = false;
            var step = now - lastUpdate;
            lock (_peerSet)
            {
                ManualUpdate((float)Math.Clamp(step.TotalMilliseconds, 0.001, LongestStep.TotalMilliseconds));
            }

            lastUpdate = now;
            Interlocked.Increment(ref _updates);
        }

        Interlocked.Increment(ref _turns);
    }

    private void DrainWakes()
    {
        var wake = _wake!;
        for (var i = 0; i < 64 && wake.Poll(0, SelectMode.SelectRead); i++)
        {
            try
            {
                wake.Receive(_scratch);
            }
            catch (SocketException)
            {
                // read or not, it woke the pump
            }
        }
    }
}
