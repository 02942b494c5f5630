using System.Runtime.CompilerServices;

namespace PeerPatch.Node.Primitives;

/// <summary>
/// A clock for leases, timeouts and elections that never jumps: the wall time when first asked, plus the monotonic
/// time elapsed since (<see cref="TimeProvider.GetTimestamp"/>). Setting the wall clock (NTP stepping, an admin,
/// a VM resume) moves <see cref="TimeProvider.GetUtcNow"/> but not this, so a lease neither lasts an hour nor expires
/// at once. Values stay close to wall time for display; use GetUtcNow for timestamps that are stored or shown as dates.
/// </summary>
internal static class MonotonicTime
{
    private static readonly ConditionalWeakTable<TimeProvider, Anchor> Anchors = [];

    public static DateTimeOffset MonotonicNow(this TimeProvider time)
    {
        var anchor = Anchors.GetValue(time, t => new Anchor(t.GetUtcNow(), t.GetTimestamp()));
        return anchor.Wall + time.GetElapsedTime(anchor.Timestamp);
    }

    private sealed record Anchor(DateTimeOffset Wall, long Timestamp);
}
