using Microsoft.Extensions.Logging;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// The LAN server's compliance records: each node's latest report (checked by <see cref="ComplianceIntake"/>), held
/// in memory and written through to the database (so a restarted server keeps them), at most
/// <see cref="MaxNodes"/> nodes (a new node beyond that replaces the one heard from longest ago). A node that was
/// not the server when others reported learns them again from their re-sent reports and hand-overs
/// (<see cref="Learn"/>). A node not heard from for <see cref="ServingOptions.ComplianceForgetAfter"/> is forgotten.
/// Answers views (<see cref="View"/>) and the policy's question <see cref="StatesOf"/>.
/// </summary>
internal sealed partial class ComplianceBook(PatchDatabase db, ServingOptions options, TimeProvider time, ILogger<ComplianceBook> logger)
{
    /// <summary>Most nodes tracked.</summary>
    public const int MaxNodes = 4096;

    private readonly Lock _lock = new();
    private Dictionary<string, ComplianceNodeRow>? _nodes;

    /// <summary>How long a silent node stays fresh.</summary>
    public TimeSpan StaleAfter => options.ComplianceStaleAfter;

    /// <summary>Keeps a node's report (already checked); a patch whose state did not change keeps its "since".</summary>
    public void Record(ComplianceNodeRow report)
    {
        lock (_lock)
        {
            var nodes = Nodes();
            if (nodes.TryGetValue(report.NodeId, out var old))
            {
                var before = old.Patches.ToDictionary(p => p.PatchName, StringComparer.Ordinal);
                var patches = report.Patches
                    .Select(p => before.TryGetValue(p.PatchName, out var b) && b.State == p.State && b.Detail == p.Detail ? p with { Since = b.Since } : p)
                    .ToList();
                report = report with { Patches = patches };
                if (old.PassId == report.PassId && old.Hostname == report.Hostname && old.Ring == report.Ring && old.OsVersion == report.OsVersion
                    && old.ReportedAt == report.ReportedAt && patches.SequenceEqual(old.Patches))
                {
                    nodes[report.NodeId] = report;
                    db.TouchComplianceNode(report.NodeId, report.LastSeen); // a periodic re-send: only the time moves
                    return;
                }
            }
            else
            {
                MakeRoom(nodes);
            }

            nodes[report.NodeId] = report;
            db.SaveComplianceNode(report);
        }
    }

    /// <summary>Nodes another server knew (handed on by a reporting node): kept, without states, where unknown here.</summary>
    public void Learn(IReadOnlyList<ComplianceKnownNode>? known, DateTimeOffset now)
    {
        if (known is null)
        {
            return;
        }

        lock (_lock)
        {
            var nodes = Nodes();
            foreach (var k in known.Take(ComplianceReport.MaxKnown))
            {
                if (!ComplianceIntake.TryReadKnown(k, now, out var row) || nodes.ContainsKey(row.NodeId) || Forgotten(row, now))
                {
                    continue; // a node past ComplianceForgetAfter stays forgotten, whoever hands it on
                }

                MakeRoom(nodes);
                nodes[row.NodeId] = row;
                db.SaveComplianceNode(row);
                LogLearned(logger, row.NodeId, row.Hostname);
            }
        }
    }

    /// <summary>The nodes this server knows, for a reply (most recently seen first, at most <see cref="ComplianceReport.MaxKnown"/>).</summary>
    public IReadOnlyList<ComplianceKnownNode> Known(DateTimeOffset now)
    {
        lock (_lock)
        {
            return [.. Current(now).Values.OrderByDescending(n => n.LastSeen).Take(ComplianceReport.MaxKnown)
                .Select(n => new ComplianceKnownNode(n.NodeId, n.Hostname, n.Ring, n.OsVersion, Math.Max(0, (long)(now - n.LastSeen).TotalMilliseconds)))];
        }
    }

    /// <summary>Every node's latest record.</summary>
    public IReadOnlyList<ComplianceNodeRow> Snapshot()
    {
        lock (_lock)
        {
            return [.. Current(time.GetUtcNow()).Values];
        }
    }

    /// <summary>The LAN's compliance now, narrowed by <paramref name="filter"/>.</summary>
    public ComplianceView View(ComplianceFilter filter) => ComplianceRollup.Build(Snapshot(), time.GetUtcNow(), options.ComplianceStaleAfter, filter);

    /// <summary>The LAN's compliance counts now (the metrics), without building a view.</summary>
    public IReadOnlyList<ComplianceCounts> Counts() => ComplianceRollup.Count(Snapshot(), time.GetUtcNow(), options.ComplianceStaleAfter);

    /// <summary>
    /// Which nodes of OS <paramref name="os"/> reported patch <paramref name="patch"/>, in which state and since when
    /// (server clock): the nodes whose latest report lists it, stale ones flagged. For the policy's ring-0 rule.
    /// </summary>
    public IReadOnlyList<NodePatchState> StatesOf(string os, string patch)
    {
        var now = time.GetUtcNow();
        var states = new List<NodePatchState>();
        foreach (var node in Snapshot())
        {
            if (node.OsVersion != os)
            {
                continue;
            }

            foreach (var p in node.Patches)
            {
                if (p.PatchName == patch)
                {
                    states.Add(new NodePatchState(node.NodeId, node.Hostname, node.Ring, p.State, p.Detail, p.Since, ComplianceRollup.IsStale(node, now, options.ComplianceStaleAfter)));
                }
            }
        }

        return states;
    }

    private Dictionary<string, ComplianceNodeRow> Nodes()
    {
        if (_nodes is null)
        {
            _nodes = new Dictionary<string, ComplianceNodeRow>(StringComparer.Ordinal);
            foreach (var row in db.LoadCompliance())
            {
                _nodes[row.NodeId] = row;
            }
        }

        return _nodes;
    }

    /// <summary>
    /// The nodes, after forgetting those not heard from for <see cref="ServingOptions.ComplianceForgetAfter"/>. A node
    /// last seen in this server's future (its clock ran ahead then and was set back since) counts as seen now, from
    /// now on: otherwise it would stay, and stay fresh, for as long as the clock had run ahead.
    /// </summary>
    private Dictionary<string, ComplianceNodeRow> Current(DateTimeOffset now)
    {
        var nodes = Nodes();
        foreach (var node in nodes.Values.Where(n => n.LastSeen > now).ToList())
        {
            nodes[node.NodeId] = node with { LastSeen = now };
            BestEffort(() => db.TouchComplianceNode(node.NodeId, now));
        }

        foreach (var node in nodes.Values.Where(n => Forgotten(n, now)).ToList())
        {
            nodes.Remove(node.NodeId);
            BestEffort(() => db.DeleteComplianceNode(node.NodeId));
            LogForgotten(logger, node.NodeId, node.Hostname, (long)(now - node.LastSeen).TotalDays);
        }

        return nodes;
    }

    /// <summary>
    /// A write that only keeps the database in step with what a view decided: on a full disk (SQLITE_FULL) the view
    /// still answers; a restarted server reads the row back and decides the same again.
    /// </summary>
    private static void BestEffort(Action write)
    {
        try
        {
            write();
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (PatchDatabase.IsDiskFull(e))
        {
            // no room to record it now
        }
    }

    private bool Forgotten(ComplianceNodeRow node, DateTimeOffset now) =>
        options.ComplianceForgetAfter > TimeSpan.Zero && now - node.LastSeen > options.ComplianceForgetAfter;

    private void MakeRoom(Dictionary<string, ComplianceNodeRow> nodes)
    {
        while (nodes.Count >= MaxNodes)
        {
            var oldest = nodes.Values.MinBy(n => n.LastSeen)!;
            nodes.Remove(oldest.NodeId);
            db.DeleteComplianceNode(oldest.NodeId);
            LogEvicted(logger, oldest.NodeId, MaxNodes);
        }
    }

    [LoggerMessage(EventId = 740, Level = LogLevel.Information, Message = "compliance: learned of node {NodeId} ({Hostname}) from another node's hand-over")]
    private static partial void LogLearned(ILogger logger, string nodeId, string hostname);

    [LoggerMessage(EventId = 742, Level = LogLevel.Information, Message = "compliance: forgot node {NodeId} ({Hostname}), not heard from for {Days} days (ComplianceForgetAfter); it reappears with its next report")]
    private static partial void LogForgotten(ILogger logger, string nodeId, string hostname, long days);

    [LoggerMessage(EventId = 741, Level = LogLevel.Warning, Message = "compliance: forgot node {NodeId}, heard from longest ago, to stay within {Max} nodes")]
    private static partial void LogEvicted(ILogger logger, string nodeId, int max);
}
