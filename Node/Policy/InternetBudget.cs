using System.Globalization;

namespace PeerPatch.Node.Policy;

/// <summary>
/// The internet budget's windows and daily quota, as one place decides them (the server for the LAN; a node for its
/// own fallback downloads when no server answers). Pure: local time comes in as <c>localNow</c>. Bytes are charged
/// when a download is allowed to start (its whole size) and refunded when it fails, so a quota is never overrun by
/// downloads that started together. Thread-safe.
/// </summary>
internal sealed class InternetBudget
{
    private readonly Lock _lock = new();
    private DateOnly _day;
    private long _used;

    /// <summary>Bytes charged today (local day).</summary>
    public long UsedToday(DateTimeOffset localNow)
    {
        lock (_lock)
        {
            Roll(localNow);
            return _used;
        }
    }

    /// <summary>Null: the download may start now, and its size is charged. Otherwise why it is held.</summary>
    public string? TryStart(InternetPolicy policy, string patch, long size, DateTimeOffset localNow)
    {
        var urgent = policy.Urgent is { } pattern && Glob.Matches(pattern, patch, ignoreCase: false);
        var time = TimeOnly.FromTimeSpan(localNow.TimeOfDay);
        if (!urgent && policy.Windows.Count > 0 && !policy.Windows.Any(w => w.Contains(time)))
        {
            return $"outside download window {string.Join(", ", policy.Windows)}";
        }

        lock (_lock)
        {
            Roll(localNow);
            if (policy.DailyQuotaBytes > 0 && _used + Math.Max(0, size) > policy.DailyQuotaBytes)
            {
                return string.Create(CultureInfo.InvariantCulture, $"daily internet quota used ({_used} of {policy.DailyQuotaBytes} bytes; {size} more needed)");
            }

            _used += Math.Max(0, size);
            return null;
        }
    }

    /// <summary>Charges a download already under way (admitted elsewhere), even past the quota.</summary>
    public void Charge(long size, DateTimeOffset localNow)
    {
        lock (_lock)
        {
            Roll(localNow);
            _used += Math.Max(0, size);
        }
    }

    /// <summary>Gives back what a download that failed (or was never made) was charged.</summary>
    public void Refund(long size, DateTimeOffset localNow)
    {
        lock (_lock)
        {
            Roll(localNow);
            _used = Math.Max(0, _used - Math.Max(0, size));
        }
    }

    /// <summary>The share of the cap handed out: the rest is headroom for what socket buffers let an upstream send ahead of the paced reads.</summary>
    public const double Headroom = 0.95;

    /// <summary>Each claim holder's share of the LAN-wide cap (bytes/s; 0: no cap): 95 % of the cap, split evenly among the live claims.</summary>
    public static long Allowance(long capBytesPerSecond, int activeClaims) =>
        capBytesPerSecond <= 0 ? 0 : Math.Max(1, (long)(capBytesPerSecond * Headroom) / Math.Max(1, activeClaims));

    private void Roll(DateTimeOffset localNow)
    {
        var today = DateOnly.FromDateTime(localNow.DateTime);
        if (today != _day)
        {
            (_day, _used) = (today, 0);
        }
    }
}
