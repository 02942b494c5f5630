namespace PeerPatch.Node.Discovery;

/// <summary>mDNS settings.</summary>
internal sealed record MdnsOptions
{
    /// <summary>
    /// Interface names to use (e.g. ["eth0"]); empty means every interface that is up, has an IPv4 address and
    /// supports multicast (loopback only when nothing else qualifies). Default empty.
    /// </summary>
    public IReadOnlyList<string> Interfaces { get; init; } = [];

    /// <summary>How often interfaces are re-scanned, so ones that come and go are followed. Default 5 s.</summary>
    public TimeSpan InterfaceScanInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>UDP port; 5353 except in tests. Default 5353.</summary>
    public int Port { get; init; } = Protocol.Mdns.MdnsLimits.Port;

    /// <summary>TTL of host and SRV records (RFC 6762 §10: 120 s). Default 120 s.</summary>
    public uint HostTtl { get; init; } = 120;

    /// <summary>TTL of PTR and TXT records (RFC 6762 §10: 75 min). Default 4500 s.</summary>
    public uint OtherTtl { get; init; } = 4500;
}
