using PeerPatch.Protocol;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Pure: checks an untrusted <see cref="ComplianceReport"/> and turns it into the row the server keeps. Identity
/// fields must be well formed (else the report is refused, with the reason); texts are cut to their limits and made
/// printable; a report of more than <see cref="ComplianceReport.MaxPatches"/> patches or with a patch named twice is
/// refused.
/// </summary>
internal static class ComplianceIntake
{
    /// <summary>
    /// The oldest last sighting a hand-over entry can carry (10 years): a larger or hostile <c>seenAgoMs</c> (up to
    /// long.MaxValue ms) is cut to it, so the date it gives stays within range. It is above every
    /// <see cref="ServingOptions.ComplianceForgetAfter"/> the validator allows, so no such setting is cut short: a node
    /// keeps its true age across server changes and is forgotten on time.
    /// </summary>
    public static readonly TimeSpan MaxKnownAge = TimeSpan.FromDays(3653);

    public static bool TryRead(ComplianceReport? report, DateTimeOffset now, out ComplianceNodeRow row, out string error)
    {
        row = null!;
        if (report is null)
        {
            error = "no report";
            return false;
        }

        if (!WireFormat.IsNodeId(report.NodeId))
        {
            error = "nodeId is missing or malformed";
            return false;
        }

        if (!WireFormat.IsOsVersion(report.Os))
        {
            error = "os is missing or malformed";
            return false;
        }

        if (report.Ring is not null && !WireFormat.IsOsVersion(report.Ring))
        {
            error = "ring is malformed";
            return false;
        }

        if (report.PassId is { Length: > ComplianceReport.MaxPassIdLength })
        {
            error = $"passId is longer than {ComplianceReport.MaxPassIdLength} characters";
            return false;
        }

        var patches = report.Patches ?? [];
        if (patches.Count > ComplianceReport.MaxPatches)
        {
            error = $"{patches.Count} patches in one report; at most {ComplianceReport.MaxPatches}";
            return false;
        }

        var rows = new List<CompliancePatchRow>(patches.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in patches)
        {
            if (p is null || !WireFormat.IsPatchName(p.Patch) || !ComplianceStates.IsState(p.State))
            {
                error = "a patch entry has a malformed name or an unknown state";
                return false;
            }

            if (!seen.Add(p.Patch!))
            {
                error = $"patch {p.Patch} is listed twice";
                return false;
            }

            var detail = p.State is ComplianceStates.Failed or ComplianceStates.Held ? Text(p.Detail, ComplianceReport.MaxDetailLength) : null;
            rows.Add(new CompliancePatchRow(p.Patch!, p.State!, detail, now));
        }

        var hostname = Text(report.Hostname, ComplianceReport.MaxHostnameLength);
        row = new ComplianceNodeRow(report.NodeId!, string.IsNullOrEmpty(hostname) ? report.NodeId! : hostname, report.Ring, report.Os!, Text(report.PassId, ComplianceReport.MaxPassIdLength), report.At, now, rows);
        error = string.Empty;
        return true;
    }

    /// <summary>A hand-over entry as a row with no patch states; false when malformed.</summary>
    public static bool TryReadKnown(ComplianceKnownNode? known, DateTimeOffset now, out ComplianceNodeRow row)
    {
        row = null!;
        if (known is null || !WireFormat.IsNodeId(known.NodeId) || !WireFormat.IsOsVersion(known.Os) || (known.Ring is not null && !WireFormat.IsOsVersion(known.Ring)))
        {
            return false;
        }

        var ago = TimeSpan.FromMilliseconds(Math.Clamp(known.SeenAgoMs, 0, (long)MaxKnownAge.TotalMilliseconds));
        var hostname = Text(known.Hostname, ComplianceReport.MaxHostnameLength);
        row = new ComplianceNodeRow(known.NodeId!, string.IsNullOrEmpty(hostname) ? known.NodeId! : hostname, known.Ring, known.Os!, null, null, now - ago, []);
        return true;
    }

    /// <summary>Cut to <paramref name="max"/> characters, control characters replaced (it is shown in terminals and pages).</summary>
    private static string? Text(string? value, int max)
    {
        if (value is null)
        {
            return null;
        }

        var cut = value.Length > max ? value[..max] : value;
        return Protocol.Text.LogText.Sanitize(cut);
    }
}
