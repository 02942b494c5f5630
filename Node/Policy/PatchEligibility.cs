using System.Globalization;

namespace PeerPatch.Node.Policy;

/// <summary>
/// Whether a patch may be applied on a node now, under the LAN's policy (pure: time comes in as <c>now</c>).
/// Null: eligible. Otherwise why it is held ("held by admin", "ring 0 delay until ...", ...): held, never failed.
/// Order: an admin's hold holds it everywhere (ring 0 too); ring 0 takes everything else at once; elsewhere an
/// approval lets it through, otherwise it waits until ring 0 applied it without a failure for the ring delay.
/// </summary>
internal static class PatchEligibility
{
    public static string? HeldBy(PolicyState state, string nodeId, string? hostname, string? ring, string os, string patch, DateTimeOffset now)
    {
        var document = state.Document;
        if (document.Held.FirstOrDefault(h => h.Matches(os, patch)) is { } hold)
        {
            return $"held by admin ({hold})";
        }

        var rings = document.Rings;
        if (!rings.HasRing0 || rings.IsRing0(nodeId, hostname, ring) || document.Approved.Any(a => a.Matches(os, patch)))
        {
            return null;
        }

        var status = state.Ring0For(os, patch);
        if (status?.FailedOn is { } failedOn)
        {
            return $"ring 0 failed it (on {failedOn})";
        }

        if (status?.FirstApplied is not { } first)
        {
            return "waiting for ring 0 to apply it";
        }

        var eligibleAt = first + rings.Delay;
        return now >= eligibleAt ? null : string.Create(CultureInfo.InvariantCulture, $"ring 0 delay until {eligibleAt.ToUniversalTime():yyyy-MM-dd'T'HH:mm}Z");
    }
}
