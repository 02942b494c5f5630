using System.Net;

namespace PeerPatch.Node.Discovery;

/// <summary>A service instance seen on the LAN, resolved as far as its records allow.</summary>
internal sealed record DiscoveredService(
    string Instance,
    string? Host,
    int Port,
    IReadOnlyDictionary<string, string> Txt,
    IReadOnlyList<IPAddress> Addresses,
    DateTimeOffset LastSeen)
{
    /// <summary>True once SRV and an address are known.</summary>
    public bool Resolved => Host is not null && Port > 0 && Addresses.Count > 0;
}
