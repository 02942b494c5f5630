using System.Net;

namespace PeerPatch.Protocol.Mdns;

/// <summary>A resource record. <see cref="CacheFlush"/> is the mDNS cache-flush bit (top bit of the class).</summary>
public abstract record DnsRecord(DnsName Name, uint Ttl, bool CacheFlush)
{
    public abstract DnsType Type { get; }
}

/// <summary>PTR: a service type points at an instance.</summary>
public sealed record PtrRecord(DnsName Name, uint Ttl, DnsName Target) : DnsRecord(Name, Ttl, false)
{
    public override DnsType Type => DnsType.Ptr;
}

/// <summary>SRV: where an instance listens.</summary>
public sealed record SrvRecord(DnsName Name, uint Ttl, bool CacheFlush, ushort Priority, ushort Weight, ushort Port, DnsName Target)
    : DnsRecord(Name, Ttl, CacheFlush)
{
    public override DnsType Type => DnsType.Srv;
}

/// <summary>TXT: DNS-SD key=value strings (RFC 6763 §6), each at most 255 bytes.</summary>
public sealed record TxtRecord(DnsName Name, uint Ttl, bool CacheFlush, IReadOnlyList<string> Strings) : DnsRecord(Name, Ttl, CacheFlush)
{
    public override DnsType Type => DnsType.Txt;

    /// <summary>The key=value pairs; keys are case-insensitive, the first occurrence wins (RFC 6763 §6.4).</summary>
    public IReadOnlyDictionary<string, string> Pairs()
    {
        var pairs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var s in Strings)
        {
            var eq = s.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? s : s[..eq];
            if (key.Length > 0)
            {
                pairs.TryAdd(key, eq < 0 ? string.Empty : s[(eq + 1)..]);
            }
        }

        return pairs;
    }

    public bool Equals(TxtRecord? other) =>
        other is not null && Name.Equals(other.Name) && Ttl == other.Ttl && CacheFlush == other.CacheFlush && Strings.SequenceEqual(other.Strings);

    public override int GetHashCode() => HashCode.Combine(Name, Ttl, Strings.Count);
}

/// <summary>A or AAAA: a host's address.</summary>
public sealed record AddressRecord(DnsName Name, uint Ttl, bool CacheFlush, IPAddress Address) : DnsRecord(Name, Ttl, CacheFlush)
{
    public override DnsType Type => Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? DnsType.Aaaa : DnsType.A;
}

/// <summary>Any other type, kept as raw RDATA (NSEC and friends).</summary>
public sealed record OpaqueRecord(DnsName Name, uint Ttl, bool CacheFlush, DnsType RecordType, byte[] Data) : DnsRecord(Name, Ttl, CacheFlush)
{
    public override DnsType Type => RecordType;

    public bool Equals(OpaqueRecord? other) =>
        other is not null && Name.Equals(other.Name) && Ttl == other.Ttl && RecordType == other.RecordType && Data.AsSpan().SequenceEqual(other.Data);

    public override int GetHashCode() => HashCode.Combine(Name, RecordType, Data.Length);
}
