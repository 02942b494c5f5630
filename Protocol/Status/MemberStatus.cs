namespace PeerPatch.Protocol.Status;

/// <summary>GET /v1/members: one other node as this node knows it (from mDNS or its heartbeats).</summary>
/// <param name="Since">Its process start, unix milliseconds.</param>
/// <param name="LastSeen">When this node last heard of it.</param>
public sealed record MemberStatus(string NodeId, string Address, int UdpPort, int HttpPort, string Role, long Term, int Priority, long Since, DateTimeOffset LastSeen);
