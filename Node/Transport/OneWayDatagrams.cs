using System.Security.Cryptography;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Transport;

/// <summary>
/// Encodes and checks one-way (unconnected) datagrams: heartbeats, membership probes and proofs. Pure: no socket.
/// <para>
/// Open LAN: a datagram is the bare MessagePack envelope, as it always was; heartbeats are taken as they come and
/// membership datagrams are refused (they only exist with a key).
/// </para>
/// <para>
/// With a cluster key every datagram is sealed <em>for its recipient's node id</em>
/// (<see cref="FrameSealer.SealFor"/>, marker 0xA6) with this process's sequence number: a random 24-bit epoch per
/// start, then a 40-bit counter shared by all recipients. The receiver refuses a frame sealed for another node, then
/// one whose number its window for the sender (<see cref="SenderWindows"/>) has seen. Before the recipient was sealed
/// in, a server's heartbeat copies to members B, C, D... carried numbers C never saw, so an eavesdropper could replay
/// the copies meant for the others to C, one by one, and keep C following a dead server for minutes. Now each
/// window sees every number meant for it in increasing order, so one shared counter suffices.
/// </para>
/// <para>
/// Every keyed one-way datagram has a known recipient, so none is sealed "for anyone": a heartbeat goes to a proven
/// member (its id from its sealed proof), a probe to the id a candidate's advert names (a node that is not that id
/// refuses it, and its proof would name another id, which the prober refuses anyway), and a proof to the prober's id
/// in the probe.
/// </para>
/// <para>
/// Wire compatibility: this is a new keyed one-way format. A node of an earlier version refuses these frames (to it
/// they are not sealed with its key), and this node refuses the earlier, unaddressed 0xA5 one-way frames (reported
/// as from an older version): keyed nodes of the two versions do not prove membership to each other, so during a
/// rolling upgrade each version forms its own cluster and elects its own server until all nodes run this one.
/// Connections (requests, answers) are unchanged, and an open LAN is unchanged byte for byte.
/// </para>
/// Thread-safe.
/// </summary>
internal sealed class OneWayDatagrams
{
    public const string NotSealed = "one-way datagram not sealed with this LAN's cluster key";
    public const string ForAnotherNode = "one-way datagram sealed for another node (a copy meant for another member, replayed?)";
    public const string Unaddressed = "one-way datagram in the unaddressed format of an older version: upgrade that node";
    public const string Replayed = "replayed one-way datagram";
    public const string MembershipOnOpenLan = "membership datagram on an open LAN";
    private readonly ClusterKey? _key;
    private readonly string _self;
    private readonly ulong _epoch;
    private readonly SenderWindows _senders = new();
    private long _sequence;

    /// <param name="key">The cluster key; null on an open LAN.</param>
    /// <param name="self">This node's id: the recipient a datagram sealed for this node names.</param>
    /// <param name="epoch">This process's 24-bit epoch (random when null).</param>
    public OneWayDatagrams(ClusterKey? key, string self, uint? epoch = null)
    {
        _key = key;
        _self = self;
        var chosen = epoch ?? (uint)RandomNumberGenerator.GetInt32(1 << SenderWindows.EpochBits);
        _epoch = (ulong)(chosen & ((1u << SenderWindows.EpochBits) - 1)) << SenderWindows.CounterBits;
    }

    /// <summary>The datagram carrying <paramref name="message"/> to the node <paramref name="recipient"/> (ignored on an open LAN).</summary>
    public byte[] Encode(IMessage message, string recipient)
    {
        var buffer = ScratchBuffers.Rent();

        try
        {
            WireCodec.Write(buffer, Envelope.Of(0, message));
            if (_key is null)
            {
                return buffer.WrittenSpan.ToArray();
            }

            var sequence = _epoch | ((ulong)Interlocked.Increment(ref _sequence) & SenderWindows.CounterMask);
            return _key.Unconnected.SealFor(recipient, sequence, buffer.WrittenSpan);
        }
        finally
        {
            ScratchBuffers.Return(buffer);
        }
    }

    /// <summary>Checks one received datagram. Never throws for bad input.</summary>
    public OneWayVerdict Check(ReadOnlyMemory<byte> datagram)
    {
        ulong sequence = 0;
        if (_key is not null)
        {
            switch (_key.Unconnected.TryOpenFor(datagram.Span, _self, out sequence, out var payload))
            {
                case AddressedOpenResult.Opened:
                    datagram = datagram[payload];
                    break;
                case AddressedOpenResult.ForAnotherNode:
                    return OneWayVerdict.Refused(ForAnotherNode);
                case AddressedOpenResult.Unaddressed:
                    return OneWayVerdict.Refused(Unaddressed);
                default:
                    return OneWayVerdict.Refused(NotSealed);
            }
        }

        var decoded = WireCodec.TryDecode(datagram);
        switch (decoded.Envelope?.Body)
        {
            case Heartbeat heartbeat when _key is null || _senders.TryAccept(heartbeat.ServerId, sequence):
                return OneWayVerdict.Accepted(heartbeat);
            case MemberProbe probe when _key is not null && _senders.TryAccept(probe.FromId, sequence):
                return OneWayVerdict.Accepted(probe);
            case MemberProof proof when _key is not null && _senders.TryAccept(proof.NodeId, sequence):
                return OneWayVerdict.Accepted(proof);
            case Heartbeat or MemberProbe or MemberProof:
                return OneWayVerdict.Refused(_key is null ? MembershipOnOpenLan : Replayed);
            default:
                return OneWayVerdict.Undecodable(decoded.Error, decoded.Detail ?? "unexpected unconnected message");
        }
    }
}
