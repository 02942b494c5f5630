using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using LiteNetLib;
using LiteNetLib.Utils;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Transport;

/// <summary>
/// The keyed half of the transport. Handshake: the client's connection request carries the connection key
/// ("PeerPatch/1+CLUSTERID", so other clusters are refused before any state) and a 16-byte nonce; the server
/// accepts, sends [0xC7][its nonce], and both derive per-direction keys from the two nonces
/// (<see cref="Protocol.Security.ClusterKey.Session"/>). From then on every frame is sealed; a peer that has not sent
/// a valid frame within <see cref="HandshakeTimeout"/> is disconnected, and nothing but the challenge is ever sent to it.
/// </summary>
internal sealed partial class LanTransport
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<NetPeer, PeerSession> _sessions = new();
    private readonly Lock _connectLock = new();

    /// <summary>Keyed peers that have not (yet) proven the key.</summary>
    public int UnauthenticatedPeers => _sessions.Values.Count(s => !s.Authenticated);

    private NetPeer? StartConnect(IPEndPoint server)
    {
        if (_key is null)
        {
            return _net.ConnectFromAnyThread(server, _connectionKey);
        }

        var writer = new NetDataWriter();
        writer.Put(_connectionKey);
        var nonce = RandomNumberGenerator.GetBytes(PeerSession.NonceLength);
        writer.Put(nonce);
        lock (_connectLock)
        {
            // Under the lock that TryOpenConnected takes on a miss: the challenge cannot overtake the session's registration.
            var peer = _net.ConnectFromAnyThread(server, writer);
            if (peer is not null)
            {
                _sessions.GetOrAdd(peer, _ => new PeerSession(outgoing: true, nonce, _time.MonotonicNow()));
            }

            return peer;
        }
    }

    private void AcceptKeyed(ConnectionRequest request)
    {
        SweepUnauthenticated();
        var data = request.Data;
        if (!data.TryGetString(out var connectionKey) || connectionKey != _connectionKey || data.AvailableBytes != PeerSession.NonceLength)
        {
            _stats.BadDatagram();
            Log.Unauthenticated(_logger, request.RemoteEndPoint, "connection request from another cluster, or without the cluster key");
            request.Reject();
            return;
        }

        var nonce = new byte[PeerSession.NonceLength];
        data.GetBytes(nonce, PeerSession.NonceLength);
        var peer = request.Accept();
        if (peer is not null)
        {
            _sessions[peer] = new PeerSession(outgoing: false, nonce, _time.MonotonicNow());
            SendChallenge(peer); // PeerConnected may have fired inside Accept, before the session existed
        }
    }

    private void SendChallenge(NetPeer peer)
    {
        if (!_sessions.TryGetValue(peer, out var session) || session.Receiver is not null)
        {
            return;
        }

        Span<byte> challenge = stackalloc byte[1 + PeerSession.NonceLength];
        challenge[0] = PeerSession.ChallengeMarker;
        RandomNumberGenerator.Fill(challenge[1..]);
        session.SetKeys(_key!, challenge[1..]);
        session.Ready.TrySetResult(); // this side may send on it too (a former client that is now the server)
        Active();
        peer.Send(challenge, 0, DeliveryMethod.ReliableUnordered);
        _net.Flush();
    }

    private void SendSealed(NetPeer peer, ReadOnlySpan<byte> payload)
    {
        if (!_sessions.TryGetValue(peer, out var session) || session.Sender is null)
        {
            throw new LanUnavailableException($"no authenticated session with {peer}");
        }

        var length = payload.Length + Protocol.Security.FrameSealer.Overhead;
        var frame = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            session.Sender.Seal(session.NextSequence(), payload, frame);
            peer.Send(frame, 0, length, DeliveryMethod.ReliableUnordered);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Opens a keyed frame in place (<paramref name="frame"/> becomes its payload); false when it is dropped.</summary>
    private bool TryOpenConnected(NetPeer peer, ref ReadOnlyMemory<byte> frame)
    {
        if (!_sessions.TryGetValue(peer, out var session))
        {
            lock (_connectLock)
            {
                _sessions.TryGetValue(peer, out session);
            }
        }

        if (session is null)
        {
            _stats.BadDatagram();
            Log.Unauthenticated(_logger, peer, "frame from a peer without a keyed session");
            return false;
        }

        var span = frame.Span;
        if (session.Outgoing && session.Receiver is null)
        {
            if (span.Length == 1 + PeerSession.NonceLength && span[0] == PeerSession.ChallengeMarker)
            {
                session.SetKeys(_key!, span[1..]);
                session.Authenticated = true;
                session.Ready.TrySetResult();
                return false; // consumed
            }

            _stats.BadDatagram();
            Log.Unauthenticated(_logger, peer, "expected the server's challenge");
            return false;
        }

        if (session.Receiver is null || !session.Receiver.TryOpen(span, out var sequence, out var payload) || !session.Window.TryAccept(sequence))
        {
            _stats.BadDatagram();
            Log.Unauthenticated(_logger, peer, "frame not sealed with this connection's keys, or replayed");
            return false;
        }

        session.Authenticated = true;
        frame = frame[payload];
        return true;
    }

    private void SweepUnauthenticated()
    {
        if (_stopped != 0)
        {
            return;
        }

        var now = _time.MonotonicNow();
        foreach (var (peer, session) in _sessions)
        {
            if (!session.Authenticated && now - session.Created > HandshakeTimeout)
            {
                _sessions.TryRemove(peer, out _);
                Log.Unauthenticated(_logger, peer, "no valid frame within the handshake time: disconnected");
                peer.Disconnect();
            }
        }
    }
}
