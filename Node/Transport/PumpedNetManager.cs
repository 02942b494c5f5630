using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LiteNetLib;
using LiteNetLib.Layers;

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
/// Other threads (this node's own requests, connects, the pacer) queue their frames with LiteNetLib as before and call
/// <see cref="Wake"/>, which sends one byte to the pump's wake socket on loopback, so the pump's wait ends and its update
/// sends them. The pump waits at most <see cref="LiteNetManager.UpdateTime"/> between updates, so acks, retransmits,
/// pings and timeouts keep LiteNetLib's pace.
/// </remarks>
internal sealed class PumpedNetManager : NetManager
{
    private static readonly byte[] WakeByte = [0];
    private readonly List<Socket> _ready = new(2);
    private readonly byte[] _drain = new byte[16];
    private Socket? _wake;
    private EndPoint? _wakeAt;
    private Thread? _thread;
    private volatile bool _pumping;
    private int _wakePending;
    private int _pumpThreadId;
    private long _turns;

    public PumpedNetManager(INetEventListener listener, PacketLayerBase layer)
        : base(listener, layer)
    {
        // Manual mode receives through .NET's socket, and LiteNetLib finds the sender's peer by its SocketAddress only
        // when its peers hash that address, which they do with native sockets off. With them on, every datagram got a
        // new IPEndPoint and a second lookup, and the peer-not-found guard saw a stranger in every peer.
        UseNativeSockets = false;
    }

    /// <summary>Where <see cref="Wake"/> sends its byte (tests).</summary>
    internal EndPoint? WakeEndPoint => _wakeAt;

    /// <summary>Turns the pump has run (tests: an idle pump takes one per tick).</summary>
    internal long Turns => Interlocked.Read(ref _turns);

    /// <summary>Raised when one turn of the pump threw (the pump goes on).</summary>
    public event Action<Exception>? PumpFailed;

    /// <summary>Binds <paramref name="address"/>:<paramref name="port"/> and starts the pump; false when the port is taken.</summary>
    public bool StartPumped(IPAddress address, int port)
    {
        if (!StartInManualMode(address, IPAddress.IPv6Any, port))
        {
            return false;
        }

        var wake = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            wake.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            wake.Blocking = false;
        }
        catch (SocketException e)
        {
            wake.Dispose();
            Stop(sendDisconnectMessages: false);
            throw new InvalidOperationException($"cannot bind the LAN transport's wake socket on loopback: {e.Message}", e);
        }

        _wake = wake;
        _wakeAt = wake.LocalEndPoint;
        _pumping = true;
        _thread = new Thread(Pump) { Name = $"LanPump({LocalPort})", IsBackground = true };
        _thread.Start();
        return true;
    }

    /// <summary>Ends the pump's wait, so frames queued by another thread go out now. Free on the pump's own thread.</summary>
    public void Wake()
    {
        if (Environment.CurrentManagedThreadId == _pumpThreadId || Interlocked.Exchange(ref _wakePending, 1) == 1)
        {
            return;
        }

        try
        {
            _wake?.SendTo(WakeByte, _wakeAt!);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Stopping, or the wake socket's buffer is full (then a wake is already waiting to be read).
        }
    }

    /// <summary>Stops the pump (its wait is at most one tick), then LiteNetLib, on the caller's thread.</summary>
    public void StopPumped(bool sendDisconnectMessages)
    {
        _pumping = false;
        if (_thread is { } thread)
        {
            Interlocked.Exchange(ref _wakePending, 0);
            Wake();
            if (Environment.CurrentManagedThreadId != _pumpThreadId)
            {
                thread.Join(TimeSpan.FromSeconds(2));
            }
        }

        Stop(sendDisconnectMessages);
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
                var socket = _udpSocketv4;
                var woken = Interlocked.Exchange(ref _wakePending, 0) == 1;
                var wait = TimeSpan.FromMilliseconds(UpdateTime) - (clock.Elapsed - lastUpdate);
                if (!woken && wait > TimeSpan.Zero && socket.Available == 0)
                {
                    _ready.Clear();
                    _ready.Add(socket);
                    _ready.Add(_wake!);
                    Socket.Select(_ready, null, null, (int)Math.Ceiling(wait.TotalMicroseconds));
                    woken = _ready.Contains(_wake!);
                }

                if (woken)
                {
                    DrainWakes(); // a byte sent after this is read on the next turn: Select sees it at once
                }

                PollEvents();
                var now = clock.Elapsed;
                ManualUpdate((float)Math.Max((now - lastUpdate).TotalMilliseconds, 0.001));
                lastUpdate = now;
                Interlocked.Increment(ref _turns);
            }
            catch (Exception e) when (!_pumping && e is ObjectDisposedException or SocketException)
            {
                return;
            }
            catch (Exception e)
            {
                PumpFailed?.Invoke(e);
                Thread.Sleep(10); // a fault that repeats every turn must not spin a core
            }
        }
    }

    private void DrainWakes()
    {
        var wake = _wake!;
        while (wake.Available > 0)
        {
            wake.Receive(_drain);
        }
    }
}
