namespace PeerPatch.Node.Cluster;

/// <summary>
/// The time this node was actually running, as seen by the <see cref="Elector"/>: every call passes <c>now</c>, and
/// the clock advances by the gap since the previous call, but by at most <see cref="MaxCountedGap"/>. A longer gap
/// means this node did not get the CPU (a host under load, a VM paused, the monotonic clock stepping): whatever it did
/// not hear meanwhile is no evidence that its server died, so election timeouts measured on this clock do not run out
/// because of it. A <c>now</c> older than the last one (a call from another thread that took the lock later) adds
/// nothing. Pure bookkeeping: no clock of its own.
/// </summary>
internal sealed class RunningClock
{
    private DateTimeOffset _last;

    public RunningClock(TimeSpan maxCountedGap, DateTimeOffset start)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxCountedGap, TimeSpan.Zero);
        MaxCountedGap = maxCountedGap;
        _last = start;
    }

    public TimeSpan MaxCountedGap { get; }

    /// <summary>Running time since the start.</summary>
    public TimeSpan Elapsed { get; private set; }

    /// <summary>How many gaps were longer than <see cref="MaxCountedGap"/> (each counted as only that much).</summary>
    public long LateGaps { get; private set; }

    /// <summary>The last such gap, in full.</summary>
    public TimeSpan LastLateGap { get; private set; }

    /// <summary>A copy of the current state, for readers outside the <see cref="Elector"/>.</summary>
    public RunningClockSnapshot Snapshot() => new(MaxCountedGap, Elapsed, LateGaps, LastLateGap);

    /// <summary>This node runs at <paramref name="now"/>: returns <see cref="Elapsed"/> then.</summary>
    public TimeSpan Observe(DateTimeOffset now)
    {
        if (now <= _last)
        {
            return Elapsed;
        }

        var gap = now - _last;
        _last = now;
        if (gap > MaxCountedGap)
        {
            LateGaps++;
            LastLateGap = gap;
            gap = MaxCountedGap;
        }

        Elapsed += gap;
        return Elapsed;
    }
}
