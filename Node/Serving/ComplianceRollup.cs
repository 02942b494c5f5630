using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Pure: the LAN's compliance from each node's latest report. The patches of an OS are those any node of that OS
/// reported; a node not heard from for <c>staleAfter</c> counts as stale for every patch of its OS (never as
/// compliant); a fresh node that did not report a patch lacks it.
/// </summary>
internal static class ComplianceRollup
{
    public static bool IsStale(ComplianceNodeRow node, DateTimeOffset now, TimeSpan staleAfter) => now - node.LastSeen > staleAfter;

    /// <summary>
    /// Most patch names of one OS a view lists: those the most nodes reported (then by name). Every node that lacks a
    /// listed patch is listed with it, so a view grows with names times nodes: 50 reports of 4096 names nobody else
    /// has (9 MB, each within a report's limits) made a 290 MB view and a 21 s /metrics. One node's limit
    /// (<see cref="ComplianceReport.MaxPatches"/>) covers any one PC's whole list.
    /// </summary>
    public const int MaxPatchesPerOs = ComplianceReport.MaxPatches;

    public static ComplianceView Build(IReadOnlyCollection<ComplianceNodeRow> nodes, DateTimeOffset now, TimeSpan staleAfter, ComplianceFilter filter)
    {
        var universe = Universe(nodes, filter);

        var selected = nodes
            .Where(n => (filter.Os is null || n.OsVersion == filter.Os) && (filter.Node is null || n.NodeId == filter.Node || string.Equals(n.Hostname, filter.Node, StringComparison.OrdinalIgnoreCase)))
            .DistinctBy(n => n.NodeId, StringComparer.Ordinal)
            .OrderBy(n => n.Hostname, StringComparer.OrdinalIgnoreCase).ThenBy(n => n.NodeId, StringComparer.Ordinal)
            .ToList();

        var states = selected.ToDictionary(n => n.NodeId, n => n.Patches.GroupBy(p => p.PatchName, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal), StringComparer.Ordinal);
        var patches = new List<PatchCoverage>();
        foreach (var (os, names) in universe)
        {
            var ofOs = selected.Where(n => n.OsVersion == os).ToList();
            foreach (var name in names)
            {
                List<string> have = [], lack = [], stale = [];
                List<NodeNote> failed = [], held = [];
                foreach (var node in ofOs)
                {
                    if (IsStale(node, now, staleAfter))
                    {
                        stale.Add(node.NodeId);
                        continue;
                    }

                    var state = states[node.NodeId].GetValueOrDefault(name);
                    switch (state?.State)
                    {
                        case ComplianceStates.Applied: have.Add(node.NodeId); break;
                        case ComplianceStates.Failed: failed.Add(new NodeNote(node.NodeId, state.Detail ?? string.Empty)); break;
                        case ComplianceStates.Held: held.Add(new NodeNote(node.NodeId, state.Detail ?? "held by policy")); break;
                        default: lack.Add(node.NodeId); break;
                    }
                }

                if (ofOs.Count > 0)
                {
                    patches.Add(new PatchCoverage(os, name, Sorted(have), Sorted(lack), [.. failed.OrderBy(f => f.Node, StringComparer.Ordinal)], [.. held.OrderBy(h => h.Node, StringComparer.Ordinal)], Sorted(stale)));
                }
            }
        }

        var perNode = new List<NodeCompliance>(selected.Count);
        foreach (var node in selected)
        {
            var names = universe.GetValueOrDefault(node.OsVersion) ?? [];
            var applied = 0;
            List<string> lacks = [];
            List<NodeNote> failed = [], held = [];
            foreach (var name in names)
            {
                var state = states[node.NodeId].GetValueOrDefault(name);
                switch (state?.State)
                {
                    case ComplianceStates.Applied: applied++; break;
                    case ComplianceStates.Failed: failed.Add(new NodeNote(name, state.Detail ?? string.Empty)); break;
                    case ComplianceStates.Held: held.Add(new NodeNote(name, state.Detail ?? "held by policy")); break;
                    default: lacks.Add(name); break;
                }
            }

            perNode.Add(new NodeCompliance(node.NodeId, node.Hostname, node.Ring, node.OsVersion, node.PassId, node.ReportedAt, node.LastSeen, IsStale(node, now, staleAfter), applied, lacks, failed, held));
        }

        return new ComplianceView(now, staleAfter.TotalSeconds, patches, perNode);
    }

    /// <summary>(Node, patch) pairs of fresh nodes per OS and state, and stale nodes per OS, as <see cref="Build"/> would count them, without building the lists.</summary>
    public static IReadOnlyList<ComplianceCounts> Count(IReadOnlyCollection<ComplianceNodeRow> nodes, DateTimeOffset now, TimeSpan staleAfter)
    {
        var universe = Universe(nodes, ComplianceFilter.All);
        var counts = new List<ComplianceCounts>();
        foreach (var (os, names) in universe)
        {
            long applied = 0, failed = 0, held = 0, fresh = 0, stale = 0;
            foreach (var node in nodes.Where(n => n.OsVersion == os).DistinctBy(n => n.NodeId, StringComparer.Ordinal))
            {
                if (IsStale(node, now, staleAfter))
                {
                    stale++;
                    continue;
                }

                fresh++;
                foreach (var p in node.Patches.DistinctBy(p => p.PatchName, StringComparer.Ordinal))
                {
                    if (!names.Contains(p.PatchName))
                    {
                        continue;
                    }

                    switch (p.State)
                    {
                        case ComplianceStates.Applied: applied++; break;
                        case ComplianceStates.Failed: failed++; break;
                        case ComplianceStates.Held: held++; break;
                    }
                }
            }

            var pending = names.Count > 0 ? (fresh * names.Count) - applied - failed - held : 0;
            counts.Add(new ComplianceCounts(os, applied, pending, failed, held, stale));
        }

        return counts;
    }

    /// <summary>Per OS, the patch names a view lists: those any node of that OS reported, at most <see cref="MaxPatchesPerOs"/>.</summary>
    private static SortedDictionary<string, SortedSet<string>> Universe(IReadOnlyCollection<ComplianceNodeRow> nodes, ComplianceFilter filter)
    {
        var reported = new SortedDictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (filter.Os is not null && node.OsVersion != filter.Os)
            {
                continue;
            }

            if (!reported.TryGetValue(node.OsVersion, out var names))
            {
                reported[node.OsVersion] = names = new Dictionary<string, int>(StringComparer.Ordinal);
            }

            foreach (var p in node.Patches)
            {
                if (filter.Patch is null || p.PatchName == filter.Patch)
                {
                    names[p.PatchName] = names.GetValueOrDefault(p.PatchName) + 1;
                }
            }
        }

        var universe = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var (os, names) in reported)
        {
            var kept = names.Count <= MaxPatchesPerOs
                ? names.Keys
                : names.OrderByDescending(n => n.Value).ThenBy(n => n.Key, StringComparer.Ordinal).Take(MaxPatchesPerOs).Select(n => n.Key);
            universe[os] = new SortedSet<string>(kept, StringComparer.Ordinal);
        }

        return universe;
    }

    private static List<string> Sorted(List<string> ids)
    {
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }
}

/// <summary>The compliance counts of one OS (the metrics' gauges).</summary>
internal sealed record ComplianceCounts(string Os, long Applied, long Pending, long Failed, long Held, long StaleNodes);
