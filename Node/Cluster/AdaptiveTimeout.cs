namespace PeerPatch.Node.Cluster;

/// <summary>
/// How long the followed server may stay silent before it is suspected: a failure detector over the gaps between its
/// heartbeats, in the spirit of the phi accrual detector (Hayashibara et al., 2004; Orleans, Akka and Cassandra use it).
/// The timeout is max(mean + <see cref="Deviations"/> standard deviations, <see cref="LongestGapFactor"/> × the
/// longest gap) of the last <see cref="Window"/> gaps, clamped to [<see cref="Floor"/>, <see cref="Cap"/>]:
/// <list type="bullet">
/// <item>Quiet LAN, heartbeats every 300-400 ms: the estimate is about 0.8 s, so the timeout is the floor (1.2 s); a
/// single gap of up to 0.6 s (a pause) changes nothing.</item>
/// <item>A loaded server or LAN, gaps of 0.3-0.9 s: the timeout stretches to about twice the longest gap (1.8 s).</item>
/// <item>Gaps of 1 s and more: the cap (2 s); a server silent longer than that is suspected however it behaved.</item>
/// </list>
/// It only learns from gaps it has seen: a gap above the floor before any gap of 0.6 s or more still counts as a
/// failure. On a simulated LAN where every node stalls 0.2-1.5 s every 3 s or so, that leaves one election a minute
/// of the one in 6 s a fixed 1.2 s timeout gave (<c>ElectorPatienceTests</c>). Pure arithmetic: no clock, no I/O.
/// </summary>
internal sealed class AdaptiveTimeout
{
    /// <summary>How many of the latest gaps count: 64, about 20 s of heartbeats on a quiet LAN, longer on a loaded one.</summary>
    public const int Window = 64;

    /// <summary>How many standard deviations above the mean gap a silence may last: 4.</summary>
    public const double Deviations = 4;

    /// <summary>How much longer than the longest recent gap a silence may last: twice (1.5 times left 2.1 times as many elections in the simulation).</summary>
    public const double LongestGapFactor = 2;

    private readonly TimeSpan[] _gaps = new TimeSpan[Window];
    private int _next;

    public AdaptiveTimeout(TimeSpan floor, TimeSpan cap)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(floor, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, floor);
        Floor = floor;
        Cap = cap;
        Timeout = floor;
    }

    public TimeSpan Floor { get; }

    public TimeSpan Cap { get; }

    /// <summary>The silence after which the server is suspected: always in [<see cref="Floor"/>, <see cref="Cap"/>].</summary>
    public TimeSpan Timeout { get; private set; }

    /// <summary>True when <see cref="Timeout"/> is above <see cref="Floor"/>.</summary>
    public bool Stretched => Timeout > Floor;

    /// <summary>How many gaps the estimate rests on (at most <see cref="Window"/>).</summary>
    public int Count { get; private set; }

    /// <summary>The mean of those gaps.</summary>
    public TimeSpan Mean { get; private set; }

    /// <summary>The longest of those gaps (each counted up to <see cref="Cap"/>).</summary>
    public TimeSpan Longest { get; private set; }

    /// <summary>A copy of the current state, for readers outside the <see cref="Elector"/>.</summary>
    public HeartbeatTimeoutSnapshot Snapshot() => new(Floor, Cap, Timeout, Count, Mean, Longest);

    /// <summary>The gap between two heartbeats of the followed server.</summary>
    public void Add(TimeSpan gap)
    {
        // Any gap beyond the cap already puts the timeout at the cap: clamping changes no result and keeps sums finite.
        _gaps[_next] = gap < TimeSpan.Zero ? TimeSpan.Zero : gap > Cap ? Cap : gap;
        _next = (_next + 1) % Window;
        Count = Math.Min(Count + 1, Window);
        Estimate();
    }

    /// <summary>Forgets every gap (another server is followed): the timeout is the floor again.</summary>
    public void Reset()
    {
        Array.Clear(_gaps);
        _next = 0;
        Count = 0;
        Mean = TimeSpan.Zero;
        Longest = TimeSpan.Zero;
        Timeout = Floor;
    }

    private void Estimate()
    {
        double sum = 0;
        var longest = TimeSpan.Zero;
        for (var i = 0; i < Count; i++)
        {
            sum += _gaps[i].TotalMilliseconds;
            longest = _gaps[i] > longest ? _gaps[i] : longest;
        }

        var mean = sum / Count;
        double squares = 0;
        for (var i = 0; i < Count; i++)
        {
            var d = _gaps[i].TotalMilliseconds - mean;
            squares += d * d;
        }

        var deviation = Math.Sqrt(squares / Count);
        var estimate = Math.Max(mean + (Deviations * deviation), LongestGapFactor * longest.TotalMilliseconds);
        Mean = TimeSpan.FromMilliseconds(mean);
        Longest = longest;
        Timeout = !(estimate < Cap.TotalMilliseconds) ? Cap : estimate <= Floor.TotalMilliseconds ? Floor : TimeSpan.FromMilliseconds(estimate);
    }
}
