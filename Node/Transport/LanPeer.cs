using LiteNetLib;

namespace PeerPatch.Node.Transport;

/// <summary>
/// A connection to another node, as the layers above the transport hold it: a handle to pass back to
/// <see cref="LanTransport.RequestAsync"/>, and whether it is still connected. LiteNetLib's own peer type stays
/// inside the transport.
/// </summary>
internal sealed class LanPeer
{
    internal LanPeer(NetPeer peer) => Peer = peer;

    internal NetPeer Peer { get; }

    /// <summary>True while the connection is up; a lost one is not reused (connect again).</summary>
    public bool IsConnected => Peer.ConnectionState == ConnectionState.Connected;

    public override string ToString() => Peer.ToString();
}
