using System.Globalization;

namespace PeerPatch.Node.Policy;

/// <summary>
/// The internet budget's windows and daily quota, as one place decides them (the server for the LAN; a node for its
/// own fallback downloads when no server answers). Pure: local time comes in as <c>localNow</c>. Bytes are charged
/// when a download is allowed to start (its whole size) and refunded when it fails, so a quota is never overrun by
/// downloads that started together. The charges of the last <see cref="DaysKept"/> local days are kept apart, so a
/// clock set to another day and back (a wrong NTP answer, a dead RTC battery at boot) forgets none of today's.
/// Thread-safe.
/// </summary>
internal sealed class InternetBudget
{
    /// <summary>Local days whose charges are kept (those furthest from the day charged go first).</summary>
    public const int DaysKept = 8;

    /// <summary>The share of the cap handed out: the rest is headroom for what socket buffers let an upstream send ahead of the paced reads.</summary>
    public const double Headroom = 0.95;

    private readonly Lock _lock = new();
    private readonly SortedDictionary<DateOnly, long> _used = [];

    /// <summary>The local day of <paramref name="localNow"/>.</summary>
    public static DateOnly Day(DateTimeOffset localNow) => DateOnly.FromDateTime(localNow.DateTime);

    /// <summary>Bytes charged today (local day).</summary>
    public long UsedToday(DateTimeOffset localNow)
    {
        lock (_lock)
        {
            return _used.GetValueOrDefault(Day(localNow));
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
            var day = Day(localNow);
            var used = _used.GetValueOrDefault(day);
            if (policy.DailyQuotaBytes > 0 && Add(used, size) > policy.DailyQuotaBytes)
            {
                return string.Create(CultureInfo.InvariantCulture, $"daily internet quota used ({used} of {policy.DailyQuotaBytes} bytes; {size} more needed)");
            }

            Set(day, Add(used, size));
            return null;
        }
    }

    /// <summary>Charges a download already under way (admitted elsewhere), even past the quota.</summary>
    public void Charge(long size, DateTimeOffset localNow)
    {
        lock (_lock)
        {
            var day = Day(localNow);
            Set(day, Add(_used.GetValueOrDefault(day), size));
        }
    }

    /// <summary>Gives back what a download that failed (or was never made) was charged.</summary>
    public void Refund(long size, DateTimeOffset localNow) => Refund(Day(localNow), size);

    /// <summary>Gives back to <paramref name="day"/> (the day it was charged) what a download that failed was charged.</summary>
    public void Refund(DateOnly day, long size)
    {
        lock (_lock)
        {
            if (_used.TryGetValue(day, out var used))
            {
                Set(day, Math.Max(0, used - Math.Max(0, size))); // a day no longer kept stays out (added back, it would push a kept one out)
            }
        }
    }

    /// <summary>
    /// A day's charges counted before (kept across a restart, or the server's count): the larger count stands. True
    /// when it raised this budget's count.
    /// </summary>
    public bool Restore(DateOnly day, long used)
    {
        lock (_lock)
        {
            if (used <= _used.GetValueOrDefault(day))
            {
                return false;
            }

            Set(day, used);
            return true;
        }
    }

    /// <summary>Each claim holder's share of the LAN-wide cap (bytes/s; 0: no cap): 95 % of the cap, split evenly among the live claims.</summary>
    public static long Allowance(long capBytesPerSecond, int activeClaims) =>
        capBytesPerSecond <= 0 ? 0 : Math.Max(1, (long)(capBytesPerSecond * Headroom) / Math.Max(1, activeClaims));

    /// <summary>Every kept day's charges, oldest first (what a server saves, so a restart forgets none of them).</summary>
    public IReadOnlyList<(DateOnly Day, long Used)> Days()
    {
        lock (_lock)
        {
            return [.. _used.Select(d => (d.Key, d.Value))];
        }
    }

    /// <summary><paramref name="used"/> plus <paramref name="size"/> (a negative size counts 0), at most <see cref="long.MaxValue"/>.</summary>
    private static long Add(long used, long size) => used + Math.Min(Math.Max(0, size), long.MaxValue - used);

    private void Set(DateOnly day, long used)
    {
        _used[day] = used;
        while (_used.Count > DaysKept)
        {
            // The day furthest from this one goes (ties: the earlier): the oldest date would be today itself after the
            // clock ran ahead for a week of downloads and was set back.
            _used.Remove(_used.Keys.MaxBy(k => (Math.Abs(k.DayNumber - day.DayNumber), -k.DayNumber)));
        }
    }
}
