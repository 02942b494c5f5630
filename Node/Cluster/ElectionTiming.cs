namespace PeerPatch.Node.Cluster;

/// <summary>Election timing.</summary>
/// <param name="HeartbeatInterval">How often a server heartbeats every member.</param>
/// <param name="HeartbeatTimeout">
/// A followed server silent this long is suspected dead, while its heartbeats arrive regularly (a quiet LAN). When they
/// arrive irregularly the timeout stretches with them (<see cref="AdaptiveTimeout"/>), up to
/// <paramref name="MaxHeartbeatTimeout"/>.
/// </param>
/// <param name="DiscoveryWindow">After start, how long a node listens for an existing server before electing.</param>
/// <param name="ClaimTimeout">How long the node expected to take over may take before it is passed over too.</param>
/// <param name="SuspectFor">How long a suspected node is left out of elections (unless it is heard from again).</param>
/// <param name="TickPeriod">How often the node ticks its <see cref="Elector"/>.</param>
/// <param name="MaxCountedGap">
/// Of a longer gap between two calls into the <see cref="Elector"/>, only this much counts as time this node was
/// running (<see cref="RunningClock"/>): a node that did not get the CPU heard nothing, which is no evidence against
/// its server. Several <paramref name="TickPeriod"/>s, so that a merely busy host loses nothing.
/// </param>
/// <param name="MaxHeartbeatTimeout">
/// The most the heartbeat timeout stretches to: a server that dies on a loaded LAN is still replaced within about
/// this long (plus <paramref name="ClaimTimeout"/> when the next in line is gone too).
/// </param>
internal sealed record ElectionTiming(
    TimeSpan HeartbeatInterval,
    TimeSpan HeartbeatTimeout,
    TimeSpan DiscoveryWindow,
    TimeSpan ClaimTimeout,
    TimeSpan SuspectFor,
    TimeSpan TickPeriod,
    TimeSpan MaxCountedGap,
    TimeSpan MaxHeartbeatTimeout)
{
    /// <summary>
    /// Heartbeats every 300 ms, suspected after 1.2 s of silence on a quiet LAN and after at most 2 s on a loaded one
    /// (2 s plus a 0.8 s claim when the next in line is busy too stays under the 3 s in which the zero-config issue
    /// wants a dead server replaced); discovery 1 s, claims 0.8 s,
    /// suspicion 10 s; ticks every 100 ms, of which a gap counts at most 500 ms.
    /// </summary>
    public static ElectionTiming Default { get; } = new(
        TimeSpan.FromMilliseconds(300),
        TimeSpan.FromMilliseconds(1200),
        TimeSpan.FromMilliseconds(1000),
        TimeSpan.FromMilliseconds(800),
        TimeSpan.FromSeconds(10),
        TimeSpan.FromMilliseconds(100),
        TimeSpan.FromMilliseconds(500),
        TimeSpan.FromMilliseconds(2000));
}
