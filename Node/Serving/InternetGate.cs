using System.Collections.Concurrent;
using System.Globalization;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Policy;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Messages;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// The LAN's internet budget at the server, where every internet download starts (a claim): outside the download
/// windows (unless the patch matches the urgent pattern) or over the daily quota a miss is held, not granted; a granted
/// claim is charged its size (refunded when the download fails); and each claim holder is given its share of the rate
/// cap, the cap divided by the live claims, with the miss and with every renewal, so all downloads together stay
/// within one cap however many PCs miss at once. Hits are never held: LAN transfers are not this budget's business.
/// Windows and the quota's day are the server's local time. The charges of every day the budget keeps are kept in this
/// node's database (<see cref="MetaKey"/>), so a server killed and restarted does not hand out a day's quota a second
/// time, also after its clock was set to another day and back. The count also outlives the server itself: its
/// heartbeats carry today's (<see cref="IHeartbeatTally"/>), every follower keeps the largest it heard for each day, in
/// memory and in its database, so the follower elected next holds the LAN to the quota the dead server was counting.
/// A follower's count may be a little above the server's: a refund the server made after a heartbeat is not heard as
/// a decrease (the larger count stands), so a failover can only leave the LAN spending less than its quota, never more.
/// </summary>
internal sealed class InternetGate : IHeartbeatTally
{
    /// <summary>
    /// The least share a claim is granted while the others still hold the cap (bytes/s), as long as the cap itself has
    /// that much left over the grants out (else what it has left, at least 1 byte/s): one of the paced stream's 4 KiB
    /// reads a second, so the download keeps moving and picks up its share within a second of its next renewal.
    /// </summary>
    internal const long MinShare = 4096;

    /// <summary>The lease named to a holder granted less than its fair share (it renews every second).</summary>
    internal static readonly TimeSpan ShortLease = TimeSpan.FromSeconds(3);

    /// <summary>The meta key of the kept days' charges: "yyyy-MM-dd bytes", ';'-separated (the server's local days; one day before).</summary>
    internal const string MetaKey = "internet.used";

    private readonly PolicyStore _policy;
    private readonly ClaimTable _claims;
    private readonly TimeProvider _time;
    private readonly PatchDatabase? _db;
    private readonly Lock _saving = new();
    private readonly InternetBudget _budget = new();
    private readonly ConcurrentDictionary<ulong, (long Size, DateOnly Day)> _charged = new(); // charges not settled yet (the claim neither done nor refunded), and the day each went to; forgotten with their day
    private int _saveQueued;
    private readonly Lock _sharing = new();
    private readonly Dictionary<ulong, long> _granted = [];

    public InternetGate(PolicyStore policy, ClaimTable claims, TimeProvider time, PatchDatabase? db = null)
    {
        (_policy, _claims, _time, _db) = (policy, claims, time, db);
        foreach (var entry in db?.GetMeta(MetaKey)?.Split(';') ?? [])
        {
            if (entry.Split(' ') is [var day, var bytes]
                && DateOnly.TryParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
                && long.TryParse(bytes, NumberStyles.None, CultureInfo.InvariantCulture, out var used))
            {
                _budget.Restore(date, used);
            }
        }
    }

    /// <summary>Null: the claim may download (charged once per claim). Otherwise why the policy holds it.</summary>
    public string? Admit(ulong claimId, string patch, long size)
    {
        string? held;
        lock (_saving)
        {
            if (_charged.ContainsKey(claimId))
            {
                return null; // the holder asked again: already admitted
            }

            var now = LocalNow();
            held = _budget.TryStart(_policy.Current.Document.Internet, patch, size, now);
            if (held is null)
            {
                _charged[claimId] = (Math.Max(0, size), InternetBudget.Day(now));
                Save();
            }
        }

        return held;
    }

    /// <summary>
    /// A claim adopted from the previous server: its download was admitted there and is under way, so it is charged
    /// here (the quota counts it) but never held.
    /// </summary>
    public void Adopt(ulong claimId, long size)
    {
        lock (_saving)
        {
            var now = LocalNow();
            if (_charged.TryAdd(claimId, (Math.Max(0, size), InternetBudget.Day(now))))
            {
                _budget.Charge(Math.Max(0, size), now);
                Save();
            }
        }
    }

    /// <summary>The claim's download failed: its charge goes back to the quota.</summary>
    public void Refund(ulong claimId)
    {
        lock (_saving)
        {
            if (_charged.TryRemove(claimId, out var charge))
            {
                _budget.Refund(charge.Day, charge.Size); // to the day it was charged to
                Save();
            }
        }
    }

    /// <summary>The claim ended with the bytes stored: its charge stands, and is saved as settled.</summary>
    public void Done(ulong claimId)
    {
        lock (_saving)
        {
            if (_charged.TryRemove(claimId, out _))
            {
                Save();
            }
        }
    }

    /// <summary>
    /// What claim <paramref name="claimId"/> may use now (bytes/s; 0: no cap), handed out with the miss and every
    /// renewal: its fair share (<see cref="Allowance()"/>), but no more than the other live claims' last grants leave of
    /// 95 % of the cap (at least <see cref="MinShare"/>, taken from the 5 % left of the cap while they last; then what
    /// the cap has left, at least 1 byte/s, since 0 would mean no cap). A holder keeps what it was granted until its
    /// next renewal (a third of the lease), so without this the first of four PCs missing at once kept the whole cap
    /// while the others took their shares beside it: 1.2 MB/s together under a 1 MB/s cap. Now a newcomer starts
    /// small and grows as the others renew down to their shares. (Before the floor came out of the cap, 40 newcomers
    /// beside a holder of 95 % got 4 KiB/s each: 111 % of the cap until the holder's renewal.)
    /// </summary>
    public long Allowance(ulong claimId)
    {
        var cap = _policy.Current.Document.Internet.RateCapBytesPerSecond;
        var now = _time.MonotonicNow();
        lock (_sharing)
        {
            foreach (var ended in _granted.Keys.Where(id => id == claimId || !_claims.IsLive(id, now)).ToList())
            {
                _granted.Remove(ended);
            }

            if (cap <= 0)
            {
                return 0;
            }

            var fair = InternetBudget.Allowance(cap, _claims.LiveCount(now));
            var granted = _granted.Values.Sum();
            var left = (long)(cap * InternetBudget.Headroom) - granted;
            var floor = Math.Clamp(cap - granted, 1, Math.Min(MinShare, fair));
            var share = Math.Clamp(left, floor, fair);
            _granted[claimId] = share;
            return share;
        }
    }

    /// <summary>
    /// The lease to name to the holder of <paramref name="claimId"/> (it renews every third of it): at most
    /// <see cref="ShortLease"/> while its last grant is below its fair share, so it takes up what others left within
    /// a second instead of at its next regular renewal (the lease in the table stays <paramref name="lease"/>).
    /// </summary>
    public TimeSpan LeaseToName(ulong claimId, TimeSpan lease)
    {
        var cap = _policy.Current.Document.Internet.RateCapBytesPerSecond;
        lock (_sharing)
        {
            return cap > 0 && _granted.TryGetValue(claimId, out var share) && share < InternetBudget.Allowance(cap, _claims.LiveCount(_time.MonotonicNow()))
                ? TimeSpan.FromTicks(Math.Min(lease.Ticks, ShortLease.Ticks))
                : lease;
        }
    }

    /// <summary>A claim holder's fair share of the cap now (bytes/s; 0: no cap): 95 % of it over the live claims.</summary>
    public long Allowance() => InternetBudget.Allowance(_policy.Current.Document.Internet.RateCapBytesPerSecond, _claims.LiveCount(_time.MonotonicNow()));

    /// <summary>Bytes charged against today's quota.</summary>
    public long UsedToday() => _budget.UsedToday(LocalNow());

    /// <summary>
    /// What the heartbeats carry: today's bytes without the charges of downloads still under way (live claims). A
    /// server elected next charges those itself when their holders renew their claims with it (<see cref="Adopt"/>), so
    /// counting them here too would charge each twice (20 PCs downloading 3 GB each at the failover: 60 GB of a quota
    /// gone for nothing). The charge of a claim no longer live (its holder died, or moved to another server) counts:
    /// its download may have ended anywhere.
    /// </summary>
    public (int Day, long Used) Today()
    {
        var day = InternetBudget.Day(LocalNow());
        return (day.DayNumber, Math.Clamp(Settled().FirstOrDefault(d => d.Day == day).Used, 0, Heartbeat.MaxInternetUsed));
    }

    /// <summary>
    /// The server's count for its local <paramref name="day"/>: kept when larger than this node's, for a day no more
    /// than one from this node's own (time zones, midnight; a server whose clock is days off does not push this node's
    /// real days out of the <see cref="InternetBudget.DaysKept"/> it keeps).
    /// </summary>
    public void Heard(int day, long used)
    {
        var today = InternetBudget.Day(LocalNow()).DayNumber;
        if (used <= 0 || used > Heartbeat.MaxInternetUsed || day < today - 1 || day > today + 1)
        {
            return;
        }

        // Called on the LAN transport's pump: the count changes in memory at once, the database write (an fsync that
        // may wait on a disk busy storing blobs) runs on the thread pool, one at a time, coalesced.
        if (_budget.Restore(DateOnly.FromDayNumber(day), used) && Interlocked.Exchange(ref _saveQueued, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static gate => gate.SaveQueued(), this, preferLocal: false);
        }
    }

    private void SaveQueued()
    {
        Volatile.Write(ref _saveQueued, 0); // a count heard from here on queues another save
        lock (_saving)
        {
            Save();
        }
    }

    /// <summary>Under <see cref="_saving"/>: today's charges to the database (best effort: the count in memory still holds).</summary>
    private void Save()
    {
        if (_db is null)
        {
            return;
        }

        try
        {
            // Every day the budget keeps, not only the one charged last: a clock set to another day and back, then a
            // restart, would otherwise find only the other day's count and hand out today's quota again.
            _db.SetMeta(MetaKey, string.Join(';', Settled().Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Day:yyyy-MM-dd} {d.Used}"))));
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            // a full or failing disk: the quota is still counted until a restart
        }
    }

    /// <summary>
    /// Every kept day's charges without those of live claims: what the heartbeats carry and what the database keeps.
    /// Live claims are charged again by whichever server their holders renew with next, this one after a restart
    /// included (its claims are in memory only), so keeping them here too would charge them twice. Lock-free: the
    /// days are read before the charges, so a charge made in between is left out (a count too low for a moment,
    /// which followers' larger count and the next save make good), never counted twice. Charges of days no longer
    /// kept are forgotten.
    /// </summary>
    private List<(DateOnly Day, long Used)> Settled()
    {
        var days = _budget.Days();
        var monotonic = _time.MonotonicNow();
        var live = new Dictionary<DateOnly, long>();
        foreach (var (claimId, charge) in _charged)
        {
            if (days.Count > 0 && charge.Day < days[0].Day)
            {
                _charged.TryRemove(claimId, out _); // its day is gone from the budget: nothing to refund it to
            }
            else if (_claims.IsLive(claimId, monotonic))
            {
                live[charge.Day] = live.GetValueOrDefault(charge.Day) + charge.Size;
            }
        }

        return [.. days.Select(d => (d.Day, Math.Max(0, d.Used - live.GetValueOrDefault(d.Day))))];
    }

    private DateTimeOffset LocalNow() => TimeZoneInfo.ConvertTime(_time.GetUtcNow(), _time.LocalTimeZone);
}
