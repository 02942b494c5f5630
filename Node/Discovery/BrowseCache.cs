using System.Net;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// The browser's cache of one service type (RFC 6762 §10): PTR, SRV, TXT and address records with their expiry.
/// A record with TTL 0 (a goodbye) expires one second later (§10.1). Questions follow §5.2: a PTR or SRV is refreshed
/// at 80, 85, 90 and 95 % of its lifetime (plus up to 2 % at random, so that 500 browsers do not all ask at once: the
/// first answer refreshes every cache), and an instance without SRV or TXT is asked for at intervals that double from
/// one second to an hour, not every second for as long as its PTR lives. Pure: time comes in as <c>now</c>, and the
/// jitter from <paramref name="random"/> (none when null).
/// </summary>
internal sealed class BrowseCache(DnsName serviceType, Func<double>? random = null)
{
    /// <summary>Longest wait between two questions for an instance that does not answer.</summary>
    public static readonly TimeSpan MaxAskInterval = TimeSpan.FromHours(1);

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

            // Hosts no instance points at any more: one set of the live ones, not a scan of every instance per host.
            var pointedAt = new HashSet<DnsName>(_instances.Count);
            foreach (var e in _instances.Values)
            {
                if (e.Host is { } h)
                {
                    pointedAt.Add(h);
                }
            }

            foreach (var host in _addresses.Keys.Where(h => !pointedAt.Contains(h)).ToList())
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
    /// Instances to ask for SRV and TXT directly, now: those that lack them (when their back-off allows), and those
    /// whose SRV is due for one of its four refreshes (§5.2; a PTR query may be answered without them when the PTR is
    /// a known answer). Call <see cref="Asked"/> with the ones asked.
    /// </summary>
    public IReadOnlyList<DnsName> Unresolved(DateTimeOffset now)
    {
        lock (_lock)
        {
            return _instances.Where(e => IsUnresolved(e.Value) ? now >= e.Value.NextAsk : SrvRefreshDue(e.Value, now))
                .Select(e => e.Key).ToList();
        }
    }

    /// <summary>Records that <paramref name="names"/> were asked for SRV and TXT at <paramref name="now"/>.</summary>
    public void Asked(IEnumerable<DnsName> names, DateTimeOffset now)
    {
        lock (_lock)
        {
            foreach (var name in names)
            {
                if (!_instances.TryGetValue(name, out var e))
                {
                    continue;
                }

                if (IsUnresolved(e))
                {
                    e.NextAsk = now + e.AskInterval;
                    e.AskInterval = TimeSpan.FromTicks(Math.Min(e.AskInterval.Ticks * 2, MaxAskInterval.Ticks));
                }
                else
                {
                    e.SrvRefreshes++;
                }
            }
        }
    }

    /// <summary>True when some PTR is due for one of its four refreshes (80-95 % of its lifetime, §5.2).</summary>
    public bool NeedsRefresh(DateTimeOffset now)
    {
        lock (_lock)
        {
            return _instances.Values.Any(e => RefreshDue(e.PtrTtl, e.PtrExpires, e.PtrRefreshes, e.Jitter, now));
        }
    }

    /// <summary>Records that a PTR query went out at <paramref name="now"/>: the PTRs that were due move to their next refresh.</summary>
    public void Refreshed(DateTimeOffset now)
    {
        lock (_lock)
        {
            foreach (var e in _instances.Values.Where(e => RefreshDue(e.PtrTtl, e.PtrExpires, e.PtrRefreshes, e.Jitter, now)))
            {
                e.PtrRefreshes++;
            }
        }
    }

    private static bool IsUnresolved(Entry e) => e.Host is null || e.Txt.Count == 0;

    private static bool SrvRefreshDue(Entry e, DateTimeOffset now) => RefreshDue(e.SrvTtl, e.SrvExpires, e.SrvRefreshes, e.Jitter, now);

    /// <summary>Refresh k (0-3) is due at (80 + 5k + jitter) % of the lifetime.</summary>
    private static bool RefreshDue(TimeSpan ttl, DateTimeOffset expires, int done, double jitter, DateTimeOffset now) =>
        ttl > TimeSpan.Zero && done < 4 && expires - now <= ttl * (0.2 - (0.05 * done) - jitter);

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

                    _instances[ptr.Target] = entry = new Entry(ptr.Target.Labels[0]) { Jitter = Jitter() };
                    added = true;
                }

                entry.PtrRefreshes = 0;
                entry.PtrExpires = expires;
                entry.PtrTtl = TimeSpan.FromSeconds(record.Ttl);
                entry.LastSeen = now;
                return added || record.Ttl == 0;
            case SrvRecord or TxtRecord when !_instances.ContainsKey(record.Name) && record.Ttl > 0 && _instances.Count < MaxInstances
                                            && record.Name.Labels.Count > 0 && record.Name.Parent().Equals(serviceType):
                // An instance known from its SRV/TXT before its PTR (a probe): keep it for as long as those records live.
                _instances[record.Name] = new Entry(record.Name.Labels[0]) { Jitter = Jitter(), PtrExpires = expires, PtrTtl = TimeSpan.FromSeconds(record.Ttl), LastSeen = now };
                ApplyServiceRecord(record, now);
                return true;
            case SrvRecord srv when _instances.TryGetValue(srv.Name, out var e):
                var moved = e.Port != srv.Port || !Equals(e.Host, srv.Target);
                (e.Host, e.Port, e.SrvExpires, e.SrvTtl, e.LastSeen) = (srv.Target, srv.Port, expires, TimeSpan.FromSeconds(srv.Ttl), now);
                (e.SrvRefreshes, e.NextAsk, e.AskInterval) = (0, DateTimeOffset.MinValue, TimeSpan.FromSeconds(1));
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

    /// <summary>Up to 2 % of a lifetime (§5.2), drawn once per instance.</summary>
    private double Jitter() => random is null ? 0 : random() * 0.02;

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

        /// <summary>PTR refresh queries sent since the PTR was last received (at most 4).</summary>
        public int PtrRefreshes { get; set; }

        /// <summary>SRV refresh questions sent since the SRV was last received (at most 4).</summary>
        public int SrvRefreshes { get; set; }

        /// <summary>While SRV or TXT is missing: when to ask again, and the wait after that.</summary>
        public DateTimeOffset NextAsk { get; set; } = DateTimeOffset.MinValue;

        public TimeSpan AskInterval { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>This instance's share (0-2 %) of a lifetime added to each refresh time.</summary>
        public double Jitter { get; init; }
    }
}
