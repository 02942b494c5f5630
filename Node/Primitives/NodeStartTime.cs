namespace PeerPatch.Node.Primitives;

/// <summary>When this process started (uptime).</summary>
internal sealed record NodeStartTime(DateTimeOffset At);
