namespace PeerPatch.Node.Cluster;

/// <summary>What /v1/status reports about mDNS: the interfaces in use and the packets seen, sent and dropped as malformed.</summary>
internal sealed record MdnsCounters(IReadOnlyList<string> Interfaces, long PacketsReceived, long PacketsSent, long Malformed);
