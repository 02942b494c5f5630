using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Updating;

/// <summary>Every listed patch's state at the end of a pass (see <see cref="UpdateRunner.PassEnded"/>).</summary>
internal sealed record PassStates(string PassId, DateTimeOffset EndedAt, IReadOnlyList<CompliancePatch> Patches)
{
    /// <summary>
    /// Applied (now or before), failed (with its error), held by policy (with the reason; never a failure), else
    /// pending (not tried: the pass stopped, or a dry run). A patch listed twice keeps its last outcome.
    /// </summary>
    public static PassStates From(string passId, DateTimeOffset endedAt, IEnumerable<string> listed, IReadOnlySet<string> alreadyApplied, IEnumerable<PatchOutcome> outcomes)
    {
        var byName = new Dictionary<string, CompliancePatch>(StringComparer.Ordinal);
        foreach (var name in listed)
        {
            byName[name] = new CompliancePatch(name, alreadyApplied.Contains(name) ? ComplianceStates.Applied : ComplianceStates.Pending);
        }

        foreach (var o in outcomes)
        {
            byName[o.Patch] = o switch
            {
                { Applied: true } => new CompliancePatch(o.Patch, ComplianceStates.Applied),
                { HeldBy: { } reason } => new CompliancePatch(o.Patch, ComplianceStates.Held, reason),
                { Error: { } error } => new CompliancePatch(o.Patch, ComplianceStates.Failed, error),
                _ => new CompliancePatch(o.Patch, ComplianceStates.Pending),
            };
        }

        return new PassStates(passId, endedAt, [.. byName.Values.OrderBy(p => p.Patch, StringComparer.Ordinal)]);
    }
}
