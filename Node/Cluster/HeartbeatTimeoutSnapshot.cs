namespace PeerPatch.Node.Cluster;

/// <summary>A copy of an <see cref="AdaptiveTimeout"/>'s state at one moment (read-only: the elector's own stays private).</summary>
/// <param name="Floor">The quiet-LAN timeout.</param>
/// <param name="Cap">The most it stretches to.</param>
/// <param name="Timeout">The silence after which the server is suspected, in [<paramref name="Floor"/>, <paramref name="Cap"/>].</param>
/// <param name="Count">How many gaps the estimate rests on.</param>
/// <param name="Mean">The mean of those gaps.</param>
/// <param name="Longest">The longest of those gaps.</param>
internal readonly record struct HeartbeatTimeoutSnapshot(TimeSpan Floor, TimeSpan Cap, TimeSpan Timeout, int Count, TimeSpan Mean, TimeSpan Longest)
{
    /// <summary>True when <see cref="Timeout"/> is above <see cref="Floor"/>.</summary>
    public bool Stretched => Timeout > Floor;
}
