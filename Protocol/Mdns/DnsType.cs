namespace PeerPatch.Protocol.Mdns;

/// <summary>DNS record types used by mDNS / DNS-SD (RFC 1035, 2782, 3596, 6763).</summary>
public enum DnsType : ushort
{
    /// <summary>IPv4 address.</summary>
    A = 1,

    /// <summary>Domain name pointer: service type to instance.</summary>
    Ptr = 12,

    /// <summary>Text strings: DNS-SD key=value pairs.</summary>
    Txt = 16,

    /// <summary>IPv6 address.</summary>
    Aaaa = 28,

    /// <summary>Service location: host and port.</summary>
    Srv = 33,

    /// <summary>Next secure (mDNS uses it for negative answers); kept as opaque data.</summary>
    Nsec = 47,

    /// <summary>Any type (queries only).</summary>
    Any = 255,
}
