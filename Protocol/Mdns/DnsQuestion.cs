namespace PeerPatch.Protocol.Mdns;

/// <summary>A question; <paramref name="UnicastResponse"/> is the mDNS QU bit (top bit of the class).</summary>
public sealed record DnsQuestion(DnsName Name, DnsType Type, bool UnicastResponse = false);
