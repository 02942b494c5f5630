using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using LiteNetLib;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Hosting;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Transport;

/// <summary>
/// The node's one LiteNetLib <see cref="NetManager"/>: it accepts connections (answering requests through
/// <see cref="ILanRequestHandler"/> when one is registered) and carries this node's own requests to the server.
/// Events run unsynced on LiteNetLib's receive thread, and every send is followed by TriggerUpdate, so a
/// round trip costs microseconds rather than a 15 ms update tick. Bad datagrams are counted and dropped.
/// </summary>
internal sealed partial class LanTransport : IHostedService, IDisposable
{
    private readonly EventBasedNetListener _listener = new();
    private readonly NetManager _net;
    private readonly ConcurrentDictionary<ulong, Pending> _pending = new();
    private readonly ConcurrentDictionary<NetPeer, TaskCompletionSource<NetPeer>> _connecting = new();
    private readonly ConcurrentBag<ArrayBufferWriter<byte>> _buffers = [];
    private readonly NodeOptions _options;
    private readonly TransportOptions _transport;
    private readonly ILanRequestHandler? _handler;
    private readonly NodeStats _stats;
    private readonly TimeProvider _time;
    private readonly ILogger<LanTransport> _logger;
    private long _nextCorrelation;
    private int _stopped;

    public LanTransport(
        NodeOptions options,
        TransportOptions transport,
        NodeStats stats,
        TimeProvider time,
        ILogger<LanTransport> logger,
        ILanRequestHandler? handler = null)
    {
        _options = options;
        _transport = transport;
        _handler = handler;
        _stats = stats;
        _time = time;
        _logger = logger;
        _net = new NetManager(_listener)
        {
            UnsyncedEvents = true,
            UseNativeSockets = true,
            AutoRecycle = true,
            DisconnectTimeout = (int)transport.DisconnectTimeout.TotalMilliseconds,
            PingInterval = 1000,
            MaxConnectAttempts = 5,
            ReconnectDelay = 300,
            IPv6Enabled = false,
            UnconnectedMessagesEnabled = true,
        };
        _listener.ConnectionRequestEvent += OnConnectionRequest;
        _listener.PeerConnectedEvent += OnPeerConnected;
        _listener.PeerDisconnectedEvent += OnPeerDisconnected;
        _listener.NetworkReceiveEvent += OnReceive;
        _listener.NetworkReceiveUnconnectedEvent += OnReceiveUnconnected;
        _listener.NetworkErrorEvent += (endPoint, error) => Log.NetworkError(_logger, endPoint, error);
    }

    /// <summary>A heartbeat arrived (one-way, unconnected), with the sender's UDP endpoint.</summary>
    public event Action<Heartbeat, IPEndPoint>? HeartbeatReceived;

    /// <summary>The UDP port actually bound.</summary>
    public int LocalPort => _net.LocalPort;

    /// <summary>Connected peers.</summary>
    public int PeerCount => _net.ConnectedPeersCount;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_net.Start(IPAddress.Parse(_options.Bind), IPAddress.IPv6Any, _options.Port))
        {
            throw new InvalidOperationException($"cannot bind UDP {_options.Bind}:{_options.Port}: is another node running on this port?");
        }

        Log.Started(_logger, _options.Bind, _net.LocalPort);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _net.Stop(sendDisconnectMessages: true);
            FailAll(null, "node stopping");
        }

        return Task.CompletedTask;
    }

    public void Dispose() => StopAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Connects (or reuses the connection) to <paramref name="server"/>.</summary>
    public async Task<NetPeer> ConnectAsync(IPEndPoint server, CancellationToken ct)
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

        var outgoing = _net.Connect(server, _transport.ConnectionKey)
            ?? throw new LanUnavailableException($"cannot connect to {server}");
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

        _net.TriggerUpdate();
        using var timeout = new CancellationTokenSource(_transport.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            return await tcs.Task.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            _connecting.TryRemove(outgoing, out _);
            throw new LanUnavailableException($"no connection to {server} within {_transport.ConnectTimeout.TotalMilliseconds:0} ms");
        }
    }

    /// <summary>Sends a request and waits for the answer with the same correlation id.</summary>
    public async Task<IMessage> RequestAsync(NetPeer peer, IMessage request, TimeSpan timeout, CancellationToken ct)
    {
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

    /// <summary>Sends a one-way message without a connection (heartbeats to every member).</summary>
    public void SendUnconnected(IMessage message, IPEndPoint to)
    {
        if (!_buffers.TryTake(out var buffer))
        {
            buffer = new ArrayBufferWriter<byte>(512);
        }

        try
        {
            WireCodec.Write(buffer, Envelope.Of(0, message));
            _net.SendUnconnectedMessage(buffer.WrittenSpan.ToArray(), to);
        }
        finally
        {
            buffer.ResetWrittenCount();
            _buffers.Add(buffer);
        }
    }

    private void Send(NetPeer peer, Envelope envelope)
    {
        if (!_buffers.TryTake(out var buffer))
        {
            buffer = new ArrayBufferWriter<byte>(512);
        }

        try
        {
            WireCodec.Write(buffer, envelope);
            peer.Send(buffer.WrittenSpan, 0, DeliveryMethod.ReliableUnordered);
            _net.TriggerUpdate();
        }
        finally
        {
            buffer.ResetWrittenCount();
            _buffers.Add(buffer);
        }
    }

    private void OnConnectionRequest(ConnectionRequest request)
    {
        if (_handler is null || _net.ConnectedPeersCount >= _transport.MaxPeers)
        {
            request.Reject();
            return;
        }

        request.AcceptIfKey(_transport.ConnectionKey);
    }

    private void OnPeerConnected(NetPeer peer)
    {
        if (_connecting.TryRemove(peer, out var tcs))
        {
            tcs.TrySetResult(peer);
        }
    }

    private void OnPeerDisconnected(NetPeer peer, DisconnectInfo info)
    {
        if (_connecting.TryRemove(peer, out var tcs))
        {
            tcs.TrySetException(new LanUnavailableException($"connection to {peer} failed: {info.Reason}"));
        }

        FailAll(peer, $"disconnected: {info.Reason}");
    }

    private void OnReceive(NetPeer peer, NetPacketReader reader, byte channel, DeliveryMethod method)
    {
        try
        {
            var decoded = WireCodec.TryDecode(reader.GetRemainingBytesMemory());
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
            // Never let one datagram take the receive thread down.
            _stats.BadDatagram();
            Log.HandlerFailed(_logger, peer, e);
        }
    }

    private void OnReceiveUnconnected(IPEndPoint from, NetPacketReader reader, UnconnectedMessageType type)
    {
        try
        {
            var decoded = WireCodec.TryDecode(reader.GetRemainingBytesMemory());
            if (decoded.Success && decoded.Envelope!.Body is Heartbeat heartbeat)
            {
                HeartbeatReceived?.Invoke(heartbeat, from);
                return;
            }

            _stats.BadDatagram();
            Log.BadDatagram(_logger, from, decoded.Error, decoded.Detail ?? "unexpected unconnected message");
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
