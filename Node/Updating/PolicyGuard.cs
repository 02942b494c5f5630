using PeerPatch.Node.Policy;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Updating;

/// <summary>
/// The LAN's policy as an update pass applies it on this node, from its <see cref="PolicyReplica"/> (the last known
/// policy; the defaults when it never had one): whether a patch is eligible here now (rings, approvals, holds), and,
/// for an internet download this node makes without a server (fallback), the download windows and the daily quota,
/// counted on this node alone (the LAN-wide rate cap needs the server: it is not applied without one).
/// </summary>
internal sealed class PolicyGuard(PolicyReplica replica, CoreOptions core, NodeIdentity self, TimeProvider time)
{
    private readonly InternetBudget _fallback = new();

    /// <summary>This PC's hostname as ring patterns see it.</summary>
    public string Hostname { get; init; } = Environment.MachineName;

    /// <summary>Null when the patch may be applied here now; otherwise why the policy holds it.</summary>
    public string? HeldBy(PatchSpec patch) =>
        PatchEligibility.HeldBy(replica.Current, self.NodeId, Hostname, core.Ring, patch.OsVersion, patch.Name, time.GetUtcNow());

    /// <summary>Null when a fallback download may start now (its size is charged); otherwise why it is held.</summary>
    public string? FallbackHeld(PatchSpec patch) => _fallback.TryStart(replica.Current.Document.Internet, patch.Name, patch.Size, LocalNow());

    /// <summary>A fallback download failed: its charge goes back.</summary>
    public void FallbackFailed(PatchSpec patch) => _fallback.Refund(patch.Size, LocalNow());

    private DateTimeOffset LocalNow() => TimeZoneInfo.ConvertTime(time.GetUtcNow(), time.LocalTimeZone);
}
