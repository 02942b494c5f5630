using System.Net;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// One DNS-SD service this node advertises: "&lt;Instance&gt;.&lt;ServiceType&gt;" at Host:Port with TXT pairs, and the
/// records that describe it on one interface (RFC 6763 §4-§6).
/// </summary>
internal sealed record ServiceAdvert(string Instance, DnsName ServiceType, DnsName Host, ushort Port, IReadOnlyDictionary<string, string> Txt)
{
    public static readonly DnsName ServicesEnumeration = DnsName.Parse("_services._dns-sd._udp.local");

    public DnsName InstanceName => DnsName.Instance(Instance, ServiceType);

    public IReadOnlyList<string> TxtStrings => Txt.Select(p => $"{p.Key}={p.Value}").ToList();

    /// <summary>Every record, with the address(es) of the interface they are sent on (A, and AAAA where IPv6 is up).</summary>
    public IReadOnlyList<DnsRecord> Records(IPAddress address, MdnsOptions options, uint? ttlOverride = null) =>
        Records(new MdnsInterface("?", 0, address), options, ttlOverride);

    public IReadOnlyList<DnsRecord> Records(MdnsInterface nic, MdnsOptions options, uint? ttlOverride = null)
    {
        var records = new List<DnsRecord>
        {
            new PtrRecord(ServiceType, ttlOverride ?? options.OtherTtl, InstanceName),
            new SrvRecord(InstanceName, ttlOverride ?? options.HostTtl, true, 0, 0, Port, Host),
            new TxtRecord(InstanceName, ttlOverride ?? options.OtherTtl, true, TxtStrings),
            new AddressRecord(Host, ttlOverride ?? options.HostTtl, true, nic.Address),
        };
        foreach (var v6 in nic.V6Addresses)
        {
            // The cache-flush bit would make a receiver drop the A record in a second (RFC 6762 §10.2 applies per type).
            records.Add(new AddressRecord(Host, ttlOverride ?? options.HostTtl, true, new IPAddress(v6.GetAddressBytes())));
        }

        records.Add(new PtrRecord(ServicesEnumeration, ttlOverride ?? options.OtherTtl, ServiceType));
        return records;
    }
}
