namespace PeerPatch.Node.Transfer;

/// <summary>
/// A mark on an internet request that a client asked this node to relay (the apt proxy): whether its connection may
/// reach this machine's own addresses. The internet client's connect step (<see cref="IUpstreamConnector"/>) checks
/// it on the addresses it actually connects to, so a name that resolves differently the second time is still refused.
/// </summary>
internal static class ConnectGuard
{
    /// <summary>Set on a relayed request: true when it may reach this machine (an admin-listed endpoint).</summary>
    public static readonly HttpRequestOptionsKey<bool> MayReachThisMachine = new("peerpatch.relay.may-reach-this-machine");
}
