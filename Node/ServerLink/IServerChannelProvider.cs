namespace PeerPatch.Node.ServerLink;

/// <summary>The server to use right now, or null when none is known (then everything comes from the internet).</summary>
internal interface IServerChannelProvider
{
    IServerChannel? Current { get; }

    /// <summary>Raised when a channel opens a new session with its server (after a connect or a reconnect).</summary>
    event Action<IServerChannel>? SessionOpened;

    /// <summary>
    /// Raised when the cluster's view changes: <see cref="Current"/> may now be another node (a claim holder renews to
    /// it at once, so the new server adopts the claim instead of granting the patch again).
    /// </summary>
    event Action? ServerMayHaveChanged;

    /// <summary>Waits up to <paramref name="max"/> for a server (an election in progress); null when none came.</summary>
    Task<IServerChannel?> WaitForServerAsync(TimeSpan max, CancellationToken ct);
}
