using System.Net;
using LiteNetLib;
using LiteNetLib.Layers;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Transport;

/// <summary>
/// Stops LiteNetLib's "peer not found" ping-pong. LiteNetLib (2.1.x, LiteNetManager.HandleMessageReceived) answers a
/// PeerNotFound datagram longer than one byte from an endpoint it has no peer for with its "second reply", the 2-byte
/// PeerNotFound <c>[0x0f, 1]</c>, and that reply is itself such a datagram. Two nodes that have no peer for each other
/// therefore bounce it back and forth for ever, as fast as their receive threads go: one forged datagram (or two late
/// replies after a dropped connection) started 134,000 to 172,000 datagrams a second on a 100-node test LAN. The second
/// reply only means something to a node that still has a peer for its sender (it tells that node "I do not know you,
/// disconnect"), so this layer drops it when it comes from an endpoint without a peer, and counts it as a bad
/// datagram. LiteNetLib has no other hook before that handling (its <c>CustomMessageHandle</c> is internal), so this is
/// an extra packet layer; it adds nothing to a datagram (<see cref="PacketLayerBase.ExtraPacketSizeForLayer"/> 0).
/// </summary>
internal sealed class PeerNotFoundGuard(NodeStats stats) : PacketLayerBase(0)
{
    /// <summary>LiteNetLib's PacketProperty.PeerNotFound, in the low 5 bits of a datagram's first byte.</summary>
    internal const byte PeerNotFound = 15;

    private const byte PropertyMask = 0x1F;

    public override void ProcessInboundPacket(ref IPEndPoint endPoint, ref byte[] data, ref int length)
    {
        // LiteNetLib passes its peer object as the endpoint when it has one for the sender.
        if (IsSecondReply(data, length) && endPoint is not LiteNetPeer)
        {
            stats.BadDatagram();
            length = 0; // dropped
        }
    }

    public override void ProcessOutBoundPacket(ref IPEndPoint endPoint, ref byte[] data, ref int offset, ref int length)
    {
    }

    /// <summary>True for LiteNetLib's "second reply": a 2-byte PeerNotFound whose second byte is 1.</summary>
    internal static bool IsSecondReply(byte[] data, int length) =>
        length == 2 && (data[0] & PropertyMask) == PeerNotFound && data[1] == 1;
}
