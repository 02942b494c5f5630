namespace PeerPatch.Node.Cluster;

/// <summary>Election timing.</summary>
/// <param name="HeartbeatInterval">How often a server heartbeats every member.</param>
/// <param name="HeartbeatTimeout">A followed server silent this long is suspected dead.</param>
/// <param name="DiscoveryWindow">After start, how long a node listens for an existing server before electing.</param>
/// <param name="ClaimTimeout">How long the node expected to take over may take before it is passed over too.</param>
/// <param name="SuspectFor">How long a suspected node is left out of elections (unless it is heard from again).</param>
internal sealed record ElectionTiming(TimeSpan HeartbeatInterval, TimeSpan HeartbeatTimeout, TimeSpan DiscoveryWindow, TimeSpan ClaimTimeout, TimeSpan SuspectFor)
{
    public static ElectionTiming Default { get; } = new(
        TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(1200), TimeSpan.FromMilliseconds(1000), TimeSpan.FromMilliseconds(800), TimeSpan.FromSeconds(10));
}
