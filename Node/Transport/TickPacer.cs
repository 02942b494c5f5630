namespace PeerPatch.Node.Transport;

/// <summary>
/// How often LiteNetLib's update ticks (on the transport's pump). A tick sends acks, retransmits, pings and connect
/// retries; at LiteNetLib's default of every 15 ms an idle node woke 66 times a second for nothing, which was 74 % of
/// an idle node's CPU (perf, 20 s of an idle node). So the transport ticks every <see cref="ActiveMilliseconds"/> while
/// connected frames move and for <see cref="QuietAfter"/> after the last one, and every
/// <see cref="QuietMilliseconds"/> otherwise: pings (every second) and the 5 s disconnect timeout keep working at that
/// pace, and the first frame after a quiet spell switches back at once (the caller flushes then, so its ack or
/// answer does not wait for the slow tick). Pure: the transport applies the decisions.
/// </summary>
/// <remarks>
/// <see cref="Touch"/> runs on every connected frame, so its usual path is two interlocked operations and no lock.
/// Touch and <see cref="TryQuiet"/> each publish their write before reading the other's (full fences), so at least
/// one of them sees the other: either Touch sees the quiet mode and switches back, or TryQuiet sees the new activity and
/// stays active.
/// </remarks>
internal sealed class TickPacer(TimeSpan quietAfter)
{
    /// <summary>LiteNetLib's own default: acks and retransmits while frames move.</summary>
    public const int ActiveMilliseconds = 15;

    /// <summary>Between connected frames: pings (every 1 s) and the disconnect timeout (5 s) at this granularity.</summary>
    public const int QuietMilliseconds = 250;

    /// <summary>
    /// No connected frame for this long: quiet. Default 2 s: a retransmit burst is over long before, and so is a failing
    /// connect (LanTransport's ReconnectDelay 300 ms × MaxConnectAttempts 5, about 1.9 s), whose retries therefore keep
    /// LiteNetLib's own spacing. Raise this if either of those grows.
    /// </summary>
    public static readonly TimeSpan DefaultQuietAfter = TimeSpan.FromSeconds(2);

    private long _lastActivity = long.MinValue / 2;
    private int _quiet;

    /// <summary>
    /// Tests only: runs at the two points of <see cref="TryQuiet"/> where a concurrent <see cref="Touch"/> matters
    /// (1: checked, not yet switched; 2: switched, not yet re-checked), so each interleaving can be run on purpose.
    /// </summary>
    internal Action<int>? Interleave { get; init; }

    public TimeSpan QuietAfter { get; } = quietAfter;

    /// <summary>True while ticking at <see cref="QuietMilliseconds"/>.</summary>
    public bool Quiet => Volatile.Read(ref _quiet) == 1;

    /// <summary>A connected frame moved at <paramref name="now"/>; true when this ends a quiet spell (tick fast again, now).</summary>
    public bool Touch(TimeSpan now)
    {
        Interlocked.Exchange(ref _lastActivity, now.Ticks);
        return Volatile.Read(ref _quiet) == 1 && Interlocked.CompareExchange(ref _quiet, 0, 1) == 1;
    }

    /// <summary>Called periodically; true when the transport should now tick slowly.</summary>
    public bool TryQuiet(TimeSpan now)
    {
        if (Volatile.Read(ref _quiet) == 1 || now - TimeSpan.FromTicks(Interlocked.Read(ref _lastActivity)) < QuietAfter)
        {
            return false;
        }

        Interleave?.Invoke(1);
        if (Interlocked.CompareExchange(ref _quiet, 1, 0) != 0)
        {
            return false;
        }

        Interleave?.Invoke(2);
        if (now - TimeSpan.FromTicks(Interlocked.Read(ref _lastActivity)) < QuietAfter)
        {
            Interlocked.CompareExchange(ref _quiet, 0, 1); // a frame moved meanwhile: stay active
            return false;
        }

        return true;
    }
}
