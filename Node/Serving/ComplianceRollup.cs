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

    public static ComplianceView Build(IReadOnlyCollection<ComplianceNodeRow> nodes, DateTimeOffset now, TimeSpan staleAfter, ComplianceFilter filter)
    {
        var universe = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (filter.Os is not null && node.OsVersion != filter.Os)
            {
                continue;
            }

            if (!universe.TryGetValue(node.OsVersion, out var names))
            {
                universe[node.OsVersion] = names = new SortedSet<string>(StringComparer.Ordinal);
            }

            foreach (var p in node.Patches)
            {
                if (filter.Patch is null || p.PatchName == filter.Patch)
                {
                    names.Add(p.PatchName);
                }
            }
        }

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

    private static List<string> Sorted(List<string> ids)
    {
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }
}
