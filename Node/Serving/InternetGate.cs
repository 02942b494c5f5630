using System.Collections.Concurrent;
using PeerPatch.Node.Policy;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Serving;

/// <summary>
/// The LAN's internet budget at the server, where every internet download starts (a claim): outside the download
/// windows (unless the patch matches the urgent pattern) or over the daily quota a miss is held, not granted; a granted
/// claim is charged its size (refunded when the download fails); and each claim holder is given its share of the rate
/// cap, the cap divided by the live claims, with the miss and with every renewal, so all downloads together stay
/// within one cap however many PCs miss at once. Hits are never held: LAN transfers are not this budget's business.
/// Windows and the quota's day are the server's local time.
/// </summary>
internal sealed class InternetGate(PolicyStore policy, ClaimTable claims, TimeProvider time)
{
    private readonly InternetBudget _budget = new();
    private readonly ConcurrentDictionary<ulong, long> _charged = new();

    /// <summary>Null: the claim may download (charged once per claim). Otherwise why the policy holds it.</summary>
    public string? Admit(ulong claimId, string patch, long size)
    {
        if (_charged.ContainsKey(claimId))
        {
            return null; // the holder asked again: already admitted
        }

        var held = _budget.TryStart(policy.Current.Document.Internet, patch, size, LocalNow());
        if (held is null)
        {
            _charged[claimId] = size;
        }

        return held;
    }

    /// <summary>
    /// A claim adopted from the previous server: its download was admitted there and is under way, so it is charged
    /// here (the quota counts it) but never held.
    /// </summary>
    public void Adopt(ulong claimId, long size)
    {
        if (_charged.TryAdd(claimId, Math.Max(0, size)))
        {
            _budget.Charge(Math.Max(0, size), LocalNow());
        }
    }

    /// <summary>The claim's download failed: its charge goes back to the quota.</summary>
    public void Refund(ulong claimId)
    {
        if (_charged.TryRemove(claimId, out var size))
        {
            _budget.Refund(size, LocalNow());
        }
    }

    /// <summary>The claim ended with the bytes stored: its charge stands.</summary>
    public void Done(ulong claimId) => _charged.TryRemove(claimId, out _);

    /// <summary>A claim holder's share of the cap now (bytes/s; 0: no cap).</summary>
    public long Allowance() => InternetBudget.Allowance(policy.Current.Document.Internet.RateCapBytesPerSecond, claims.LiveCount(time.MonotonicNow()));

    /// <summary>Bytes charged against today's quota.</summary>
    public long UsedToday() => _budget.UsedToday(LocalNow());

    private DateTimeOffset LocalNow() => TimeZoneInfo.ConvertTime(time.GetUtcNow(), time.LocalTimeZone);
}
