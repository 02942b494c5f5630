using System.Net;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// The browser's cache of one service type (RFC 6762 §10): PTR, SRV, TXT and address records with their expiry.
/// A record with TTL 0 (a goodbye) expires one second later (§10.1). Pure: time comes in as <c>now</c>.
/// </summary>
internal sealed class BrowseCache(DnsName serviceType)
{
    /// <summary>Most instances kept: a LAN of 500 PCs fits many times; a flood of fake adverts does not grow it further.</summary>
    public const int MaxInstances = 4096;

    private readonly object _lock = new();
    private readonly Dictionary<DnsName, Entry> _instances = [];
    private readonly Dictionary<DnsName, Dictionary<IPAddress, (DateTimeOffset Expires, DateTimeOffset Received)>> _addresses = [];

    /// <summary>Adds what a packet says; returns true when an instance appeared, vanished or changed.</summary>
    public bool Apply(IEnumerable<DnsRecord> records, DateTimeOffset now)
    {
        var list = records as IReadOnlyList<DnsRecord> ?? records.ToList();
        var changed = false;
        lock (_lock)
        {
            // Service records first, then addresses: only hosts that a known instance points at are kept, so the
            // cache stays bounded by our service's instances however busy the LAN is.
            foreach (var record in list)
            {
                changed |= ApplyServiceRecord(record, now);
            }

            foreach (var address in list.OfType<AddressRecord>())
            {
                changed |= ApplyAddress(address, now);
            }
        }

        return changed;
    }

    /// <summary>Drops expired records; returns true when an instance vanished.</summary>
    public bool Expire(DateTimeOffset now)
    {
        lock (_lock)
        {
            var gone = _instances.Where(e => e.Value.PtrExpires <= now).Select(e => e.Key).ToList();
            gone.ForEach(k => _instances.Remove(k));
            foreach (var e in _instances.Values.Where(e => e.SrvExpires <= now))
            {
                (e.Host, e.Port) = (null, 0);
            }

            foreach (var host in _addresses.Keys.Where(h => !_instances.Values.Any(e => h.Equals(e.Host))).ToList())
            {
                _addresses.Remove(host);
            }

            foreach (var set in _addresses.Values)
            {
                foreach (var old in set.Where(a => a.Value.Expires <= now).Select(a => a.Key).ToList())
                {
                    set.Remove(old);
                }
            }

            return gone.Count > 0;
        }
    }

    public IReadOnlyList<DiscoveredService> Snapshot()
    {
        lock (_lock)
        {
            return _instances.Values.Select(e => new DiscoveredService(
                e.Instance,
                e.Host?.ToString(),
                e.Port,
                e.Txt,
                e.Host is not null && _addresses.TryGetValue(e.Host, out var set) ? set.Keys.ToList() : [],
                e.LastSeen)).OrderBy(s => s.Instance, StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>PTRs worth listing as known answers: more than half their TTL left (§7.1).</summary>
    public IReadOnlyList<DnsRecord> KnownAnswers(DateTimeOffset now)
    {
        lock (_lock)
        {
            return _instances.Where(e => e.Value.PtrExpires - now > e.Value.PtrTtl / 2)
                .Select(e => (DnsRecord)new PtrRecord(serviceType, (uint)(e.Value.PtrExpires - now).TotalSeconds, e.Key)).ToList();
        }
    }

    /// <summary>
    /// Instances to ask for SRV and TXT directly: those that lack them, and those whose SRV is past 80 % of its
    /// lifetime (§5.2 cache maintenance; a PTR query may be answered without them when the PTR is a known answer).
    /// </summary>
    public IReadOnlyList<DnsName> Unresolved(DateTimeOffset now)
    {
        lock (_lock)
        {
            return _instances.Where(e => e.Value.Host is null || e.Value.Txt.Count == 0
                    || (e.Value.SrvTtl > TimeSpan.Zero && e.Value.SrvExpires - now < e.Value.SrvTtl * 0.2))
                .Select(e => e.Key).ToList();
        }
    }

    /// <summary>True when some PTR is past 80 % of its lifetime (time to refresh it, §5.2).</summary>
    public bool NeedsRefresh(DateTimeOffset now)
    {
        lock (_lock)
        {
            return _instances.Values.Any(e => e.PtrTtl > TimeSpan.Zero && e.PtrExpires - now < e.PtrTtl * 0.2);
        }
    }

    private bool ApplyServiceRecord(DnsRecord record, DateTimeOffset now)
    {
        var expires = Expiry(record, now);
        switch (record)
        {
            case PtrRecord ptr when ptr.Name.Equals(serviceType) && ptr.Target.Labels.Count > 0 && ptr.Target.Parent().Equals(serviceType):
                var added = false;
                if (!_instances.TryGetValue(ptr.Target, out var entry))
                {
                    if (_instances.Count >= MaxInstances)
                    {
                        return false;
                    }

                    _instances[ptr.Target] = entry = new Entry(ptr.Target.Labels[0]);
                    added = true;
                }

                entry.PtrExpires = expires;
                entry.PtrTtl = TimeSpan.FromSeconds(record.Ttl);
                entry.LastSeen = now;
                return added || record.Ttl == 0;
            case SrvRecord or TxtRecord when !_instances.ContainsKey(record.Name) && record.Ttl > 0 && _instances.Count < MaxInstances
                                            && record.Name.Labels.Count > 0 && record.Name.Parent().Equals(serviceType):
                // An instance known from its SRV/TXT before its PTR (a probe): keep it for as long as those records live.
                _instances[record.Name] = new Entry(record.Name.Labels[0]) { PtrExpires = expires, PtrTtl = TimeSpan.FromSeconds(record.Ttl), LastSeen = now };
                ApplyServiceRecord(record, now);
                return true;
            case SrvRecord srv when _instances.TryGetValue(srv.Name, out var e):
                var moved = e.Port != srv.Port || !Equals(e.Host, srv.Target);
                (e.Host, e.Port, e.SrvExpires, e.SrvTtl, e.LastSeen) = (srv.Target, srv.Port, expires, TimeSpan.FromSeconds(srv.Ttl), now);
                return moved;
            case TxtRecord txt when _instances.TryGetValue(txt.Name, out var e):
                var pairs = txt.Pairs();
                var differs = e.Txt.Count != pairs.Count || pairs.Any(p => !e.Txt.TryGetValue(p.Key, out var v) || v != p.Value);
                (e.Txt, e.LastSeen) = (pairs, now);
                return differs;
            default:
                return false;
        }
    }

    private bool ApplyAddress(AddressRecord address, DateTimeOffset now)
    {
        if (!_instances.Values.Any(e => address.Name.Equals(e.Host)))
        {
            return false;
        }

        if (!_addresses.TryGetValue(address.Name, out var set))
        {
            _addresses[address.Name] = set = [];
        }

        if (address.CacheFlush)
        {
            // §10.2: flush other records of the same type only, and never ones received within the last second
            // (that includes the other addresses of the same packet).
            foreach (var old in set.Where(a => !a.Key.Equals(address.Address) && a.Key.AddressFamily == address.Address.AddressFamily
                                               && now - a.Value.Received >= TimeSpan.FromSeconds(1)).Select(a => a.Key).ToList())
            {
                set[old] = (Min(set[old].Expires, now + TimeSpan.FromSeconds(1)), set[old].Received);
            }
        }

        var added = !set.ContainsKey(address.Address);
        set[address.Address] = (Expiry(address, now), now);
        return added;
    }

    private static DateTimeOffset Expiry(DnsRecord record, DateTimeOffset now) => now + TimeSpan.FromSeconds(record.Ttl == 0 ? 1 : record.Ttl);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private sealed class Entry(string instance)
    {
        public string Instance { get; } = instance;

        public DnsName? Host { get; set; }

        public int Port { get; set; }

        public IReadOnlyDictionary<string, string> Txt { get; set; } = new Dictionary<string, string>();

        public DateTimeOffset PtrExpires { get; set; }

        public TimeSpan PtrTtl { get; set; }

        public DateTimeOffset SrvExpires { get; set; } = DateTimeOffset.MaxValue;

        public TimeSpan SrvTtl { get; set; }

        public DateTimeOffset LastSeen { get; set; }
    }
}
