using System.Collections.Concurrent;
using System.Net;
using LiteNetLib;
using LiteNetLib.Utils;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Transport;

/// <summary>
/// The node's one LiteNetLib <see cref="NetManager"/>: it accepts connections (answering requests through
/// <see cref="ILanRequestHandler"/> when one is registered) and carries this node's own requests to the server.
/// What arrives is handled on the pump's thread (<see cref="PumpedNetManager"/>), which sends the answers at the end of
/// its turn, and every send from another thread wakes it, so a round trip costs microseconds rather than a 15 ms tick.
/// Bad datagrams are counted and dropped.
/// With a cluster key (LanTransport.Keyed.cs) every connection is authenticated both ways and every frame, connected
/// or not, is sealed (MAC + sequence number, replays refused); a peer without the key gets nothing but a challenge.
/// One-way datagrams are sealed for their recipient's node id (<see cref="OneWayDatagrams"/>).
/// </summary>
internal sealed partial class LanTransport : IHostedService, IDisposable
{
    private readonly EventBasedNetListener _listener = new();
    private readonly PumpedNetManager _net;
    private readonly ConcurrentDictionary<ulong, Pending> _pending = new();
    private readonly ConcurrentDictionary<NetPeer, TaskCompletionSource<NetPeer>> _connecting = new();
    private readonly CoreOptions _options;
    private readonly TransportOptions _transport;
    private readonly ILanRequestHandler? _handler;
    private readonly NodeStats _stats;
    private readonly TimeProvider _time;
    private readonly ILogger<LanTransport> _logger;
    private readonly Protocol.Security.ClusterKey? _key;
    private readonly string _connectionKey;
    private readonly OneWayDatagrams _oneWay;
    private long _nextCorrelation;
    private int _stopped;

    public LanTransport(
        CoreOptions options,
        TransportOptions transport,
        NodeStats stats,
        TimeProvider time,
        ILogger<LanTransport> logger,
        ClusterAuth? auth = null,
        ILanRequestHandler? handler = null)
    {
        _key = auth?.Key;
        _connectionKey = _key is null ? transport.ConnectionKey : $"{transport.ConnectionKey}+{_key.ClusterId}";
        _oneWay = new OneWayDatagrams(_key, auth?.NodeId ?? string.Empty);
        _options = options;
        _transport = transport;
        _pacer = new TickPacer(transport.QuietAfter);
        _pacerOrigin = time.GetTimestamp();
        _handler = handler;
        _stats = stats;
        _time = time;
        _logger = logger;
        _net = new PumpedNetManager(_listener, new PeerNotFoundGuard(stats)) // LiteNetLib's "peer not found" ping-pong (the guard's comment)
        {
            AutoRecycle = true,
            DisconnectTimeout = (int)transport.DisconnectTimeout.TotalMilliseconds,
            PingInterval = 1000,
            MaxConnectAttempts = 5,
            ReconnectDelay = 300, // with MaxConnectAttempts: about 1.9 s of retries, within TickPacer.DefaultQuietAfter
            UnconnectedMessagesEnabled = true,
            UpdateTime = TickPacer.ActiveMilliseconds,
            // LiteNetLib sends at most 1024 bytes a datagram unless it discovers more: a hit's answer (its sources and
            // piece size, issue 16) is a few hundred bytes, so at 1024 only three share a datagram. Discovery probes each
            // peer once a second, one step at a time, up to Ethernet's 1500 (1432 after LiteNetLib's own allowance for
            // headers), and keeps a step only when its probe came back at that size (the socket sets Don't Fragment).
            MtuDiscovery = true,
        };
        _listener.ConnectionRequestEvent += OnConnectionRequest;
        _listener.PeerConnectedEvent += OnPeerConnected;
        _listener.PeerDisconnectedEvent += OnPeerDisconnected;
        _listener.NetworkReceiveEvent += OnReceive;
        _listener.NetworkReceiveUnconnectedEvent += OnReceiveUnconnected;
        _listener.NetworkErrorEvent += (endPoint, error) => Log.NetworkError(_logger, endPoint, error);
        _net.PumpFailed += e => Log.PumpFailed(_logger, e);
    }

    /// <summary>A heartbeat arrived (one-way, unconnected), with the sender's UDP endpoint.</summary>
    public event Action<Heartbeat, IPEndPoint>? HeartbeatReceived;

    /// <summary>A membership probe arrived (keyed only: sealed, one-way).</summary>
    public event Action<MemberProbe, IPEndPoint>? ProbeReceived;

    /// <summary>A membership proof arrived (keyed only: sealed, one-way; freshness is the receiver's nonce check).</summary>
    public event Action<MemberProof, IPEndPoint>? ProofReceived;

    /// <summary>True when this node has a cluster key.</summary>
    public bool Keyed => _key is not null;

    /// <summary>The UDP port actually bound.</summary>
    public int LocalPort => _net.LocalPort;

    /// <summary>Connected peers.</summary>
    public int PeerCount => _net.ConnectedPeersCount;

    /// <summary>The largest datagram LiteNetLib sends each connected peer, as discovered so far (tests).</summary>
    internal IReadOnlyList<int> PeerMtus()
    {
        var peers = new List<LiteNetPeer>();
        _net.GetConnectedPeers(peers);
        return [.. peers.Select(p => p.Mtu)];
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_net.StartPumped(IPAddress.Parse(_options.Bind), _options.Port))
        {
            throw new InvalidOperationException($"cannot bind UDP {_options.Bind}:{_options.Port}: is another node running on this port?");
        }

        Log.Started(_logger, _options.Bind, _net.LocalPort);
        Active(); // start-up counts as activity: the first quiet spell begins QuietAfter from now
        _housekeeping = _time.CreateTimer(_ => Housekeeping(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _housekeeping?.Dispose();
            _net.StopPumped(sendDisconnectMessages: true);
            FailAll(null, "node stopping");
        }

        return Task.CompletedTask;
    }

    public void Dispose() => StopAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Connects (or reuses the connection) to <paramref name="server"/>; with a key, also completes the handshake.</summary>
    public async Task<LanPeer> ConnectAsync(IPEndPoint server, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(_transport.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            var peer = await ConnectPeerAsync(server, linked.Token).ConfigureAwait(false);
            if (_key is not null)
            {
                if (!_sessions.TryGetValue(peer, out var session))
                {
                    throw new LanUnavailableException($"no keyed session with {server}");
                }

                await session.Ready.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            }

            return new LanPeer(peer);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new LanUnavailableException(_key is null
                ? $"no connection to {server} within {_transport.ConnectTimeout.TotalMilliseconds:0} ms"
                : $"no authenticated connection to {server} within {_transport.ConnectTimeout.TotalMilliseconds:0} ms (does it hold this LAN's cluster key?)");
        }
    }

    private async Task<NetPeer> ConnectPeerAsync(IPEndPoint server, CancellationToken ct)
    {
        var peers = new List<NetPeer>();
        _net.GetConnectedPeers(peers);
        foreach (var peer in peers)
        {
            if (peer.Address.Equals(server.Address) && peer.Port == server.Port)
            {
                return peer;
            }
        }

        if (!_net.IsRunning)
        {
            throw new LanUnavailableException("the LAN transport is not running");
        }

        Active(); // connect attempts are retried on ticks
        var outgoing = StartConnect(server) ?? throw new LanUnavailableException($"cannot connect to {server}");
        if (outgoing.ConnectionState == ConnectionState.Connected)
        {
            return outgoing;
        }

        var tcs = _connecting.GetOrAdd(outgoing, _ => new TaskCompletionSource<NetPeer>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (outgoing.ConnectionState == ConnectionState.Connected)
        {
            _connecting.TryRemove(outgoing, out _);
            return outgoing;
        }

        _net.Flush();
        try
        {
            return await tcs.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _connecting.TryRemove(outgoing, out _);
            throw;
        }
    }

    /// <summary>Sends a request and waits for the answer with the same correlation id.</summary>
    public async Task<IMessage> RequestAsync(LanPeer to, IMessage request, TimeSpan timeout, CancellationToken ct)
    {
        var peer = to.Peer;
        var id = (ulong)Interlocked.Increment(ref _nextCorrelation);
        var pending = new Pending(peer, new TaskCompletionSource<IMessage>(TaskCreationOptions.RunContinuationsAsynchronously));
        _pending[id] = pending;
        try
        {
            Send(peer, Envelope.Of(id, request));
            using var timer = new CancellationTokenSource(timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
            return await pending.Reply.Task.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new LanUnavailableException($"no answer from {peer} within {timeout.TotalMilliseconds:0} ms");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Sends a one-way message without a connection (heartbeats, membership probes and proofs) to the node
    /// <paramref name="recipient"/> at <paramref name="to"/>. With a key it is sealed for that node id, and every other
    /// node refuses it (<see cref="OneWayDatagrams"/>); on an open LAN the id is not sent.
    /// </summary>
    public void SendUnconnected(IMessage message, string recipient, IPEndPoint to) =>
        _net.SendUnconnectedMessage(_oneWay.Encode(message, recipient), to);

    private void Send(NetPeer peer, Envelope envelope)
    {
        var buffer = ScratchBuffers.Rent();

        try
        {
            WireCodec.Write(buffer, envelope);
            Active();
            if (_key is null)
            {
                peer.Send(buffer.WrittenSpan, 0, DeliveryMethod.ReliableUnordered);
            }
            else
            {
                SendSealed(peer, buffer.WrittenSpan);
            }

            _net.Flush();
        }
        finally
        {
            ScratchBuffers.Return(buffer);
        }
    }

    private void OnConnectionRequest(ConnectionRequest request)
    {
        Active();
        if (_handler is null || _net.ConnectedPeersCount >= _transport.MaxPeers)
        {
            request.Reject();
            return;
        }

        if (_key is null)
        {
            request.AcceptIfKey(_connectionKey);
            return;
        }

        AcceptKeyed(request);
    }

    private void OnPeerConnected(NetPeer peer)
    {
        if (_key is not null && _sessions.TryGetValue(peer, out var session) && !session.Outgoing)
        {
            SendChallenge(peer);
        }

        if (_connecting.TryRemove(peer, out var tcs))
        {
            tcs.TrySetResult(peer);
        }
    }

    private void OnPeerDisconnected(NetPeer peer, DisconnectInfo info)
    {
        if (_connecting.TryRemove(peer, out var tcs))
        {
            tcs.TrySetException(new LanUnavailableException(_key is not null && info.Reason == DisconnectReason.ConnectionRejected
                ? $"connection to {peer} refused: it does not hold this LAN's cluster key (or has none)"
                : $"connection to {peer} failed: {info.Reason}"));
        }

        _sessions.TryRemove(peer, out _);
        FailAll(peer, $"disconnected: {info.Reason}");
    }

    private void OnReceive(NetPeer peer, NetPacketReader reader, byte channel, DeliveryMethod method)
    {
        Active();
        _net.Flush(); // its ack goes out at the end of this turn, with any answer, not at the next tick
        try
        {
            var frame = reader.GetRemainingBytesMemory();
            if (_key is not null && !TryOpenConnected(peer, ref frame))
            {
                return;
            }

            var decoded = WireCodec.TryDecode(frame);
            if (!decoded.Success)
            {
                _stats.BadDatagram();
                Log.BadDatagram(_logger, peer, decoded.Error, decoded.Detail);
                if (decoded.Error == DecodeError.VersionMismatch)
                {
                    Send(peer, Envelope.Of(0, new ErrorReply(ErrorCode.VersionMismatch, decoded.Detail ?? "version mismatch")));
                }

                return;
            }

            var envelope = decoded.Envelope!;
            switch (envelope.Body)
            {
                case Heartbeat heartbeat:
                    HeartbeatReceived?.Invoke(heartbeat, peer);
                    break;
                case HelloAck or LookupResult or Ack or ErrorReply:
                    if (_pending.TryGetValue(envelope.CorrelationId, out var pending) && ReferenceEquals(pending.Peer, peer))
                    {
                        pending.Reply.TrySetResult(envelope.Body);
                    }

                    break;
                default:
                    var reply = _handler?.Handle(envelope.Body, peer)
                        ?? new ErrorReply(ErrorCode.NotServer, "this node does not answer requests");
                    Send(peer, Envelope.Of(envelope.CorrelationId, reply));
                    break;
            }
        }
        catch (Exception e)
        {
            // Never let one datagram take the pump down.
            _stats.BadDatagram();
            Log.HandlerFailed(_logger, peer, e);
        }
    }

    private void OnReceiveUnconnected(IPEndPoint from, NetPacketReader reader, UnconnectedMessageType type)
    {
        try
        {
            var verdict = _oneWay.Check(reader.GetRemainingBytesMemory());
            switch (verdict.Message)
            {
                case Heartbeat heartbeat:
                    HeartbeatReceived?.Invoke(heartbeat, from);
                    return;
                case MemberProbe probe:
                    ProbeReceived?.Invoke(probe, from);
                    return;
                case MemberProof proof:
                    ProofReceived?.Invoke(proof, from);
                    return;
            }

            _stats.BadDatagram();
            if (verdict.Refusal is { } reason)
            {
                Log.Unauthenticated(_logger, from, reason);
            }
            else
            {
                Log.BadDatagram(_logger, from, verdict.Error, verdict.Detail);
            }
        }
        catch (Exception e)
        {
            _stats.BadDatagram();
            Log.HandlerFailed(_logger, from, e);
        }
    }

    private void FailAll(NetPeer? peer, string reason)
    {
        foreach (var (id, pending) in _pending)
        {
            if (peer is null || ReferenceEquals(pending.Peer, peer))
            {
                pending.Reply.TrySetException(new LanUnavailableException(reason));
                _pending.TryRemove(id, out _);
            }
        }
    }

    private sealed record Pending(NetPeer Peer, TaskCompletionSource<IMessage> Reply);
}
