using System.Net;

namespace PeerPatch.Node.Cluster;

/// <summary>A node as the others see it (from its mDNS advert or its heartbeats).</summary>
/// <param name="Priority">Higher wins an election (configured, or derived from free cache space).</param>
/// <param name="Since">Process start, unix milliseconds: among equal priorities the longest-running node wins.</param>
internal sealed record Member(string NodeId, IPAddress Address, int UdpPort, int HttpPort, int Priority, long Since, bool IsServer, long Term);
