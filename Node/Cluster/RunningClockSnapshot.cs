namespace PeerPatch.Node.Cluster;

/// <summary>A copy of a <see cref="RunningClock"/>'s state at one moment (read-only: the elector's own stays private).</summary>
/// <param name="MaxCountedGap">Of a longer gap between two calls, only this much counts.</param>
/// <param name="Elapsed">Running time since the start.</param>
/// <param name="LateGaps">How many gaps were longer than <paramref name="MaxCountedGap"/>.</param>
/// <param name="LastLateGap">The last such gap, in full.</param>
internal readonly record struct RunningClockSnapshot(TimeSpan MaxCountedGap, TimeSpan Elapsed, long LateGaps, TimeSpan LastLateGap);
