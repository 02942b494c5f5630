namespace PeerPatch.Diag;

/// <summary>Monitoring-plugin severities: the exit code of `peerpatch-diag health`.</summary>
internal enum Severity
{
    Ok = 0,
    Warning = 1,
    Critical = 2,
}

/// <summary>One health check's finding.</summary>
internal sealed record Check(string Name, Severity Severity, string Message);

/// <summary>
/// The LAN's health from one <see cref="LanView"/>: pure rules, no I/O. Checks: nodes found, exactly one server,
/// every node following it, version and protocol skew, disk space, unreachable nodes, election churn, and nodes of
/// other clusters (another cluster key, or none) on the same LAN.
/// </summary>
internal static class Health
{
    /// <summary>Free disk below this share of the data disk is a warning.</summary>
    public const double DiskWarning = 0.10;

    /// <summary>Free disk below this share is critical.</summary>
    public const double DiskCritical = 0.05;

    /// <summary>More view changes than this on one node in the last hour is churn (a warning).</summary>
    public const int ChurnPerHour = 6;

    public static IReadOnlyList<Check> Evaluate(LanView lan)
    {
        var checks = new List<Check>();
        var up = lan.Answering.ToList();
        if (lan.Nodes.Count == 0)
        {
            checks.Add(new Check("nodes", Severity.Critical, "no PeerPatch node found"));
            return checks;
        }

        var down = lan.Nodes.Where(n => !n.Reachable).ToList();
        checks.Add(down.Count == 0
            ? new Check("nodes", Severity.Ok, $"{up.Count} nodes answering")
            : new Check("nodes", up.Count == 0 ? Severity.Critical : Severity.Warning, $"{down.Count} of {lan.Nodes.Count} nodes not answering: {string.Join(", ", down.Select(d => $"{d.NodeId} at {d.Url} ({d.Error})"))}"));

        // Nodes of another cluster key (or none) share the wire but not the cluster: judge the largest cluster.
        var clusters = up.GroupBy(n => n.Status!.ClusterId).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key.Length).ToList();
        if (clusters.Count > 1)
        {
            var main = clusters[0];
            checks.Add(new Check("clusters", Severity.Warning, $"nodes of {clusters.Count} clusters answer on this LAN: {string.Join(", ", clusters.Select(g => $"{ClusterName(g.Key)} ({g.Count()} nodes: {string.Join(" ", g.Select(n => n.NodeId))})"))}; the checks below are for {ClusterName(main.Key)}, and the others cannot join it"));
            up = [.. main];
        }

        var servers = lan.Servers.Where(s => up.Contains(s)).ToList();
        if (servers.Count == 0)
        {
            checks.Add(new Check("server", Severity.Critical, "no server: no node is serving the LAN (every PC goes to the internet)"));
        }
        else if (servers.Count > 1)
        {
            checks.Add(new Check("server", Severity.Critical, $"{servers.Count} servers: {string.Join(", ", servers.Select(s => $"{s.NodeId} (term {s.Status!.Term})"))}"));
        }
        else
        {
            var server = servers[0];
            var astray = up.Where(n => n.Status!.ServerId != server.NodeId).ToList();
            checks.Add(astray.Count == 0
                ? new Check("server", Severity.Ok, $"server {server.NodeId} (term {server.Status!.Term}), followed by every node")
                : new Check("server", Severity.Warning, $"server {server.NodeId}, but {astray.Count} node(s) follow another or none: {string.Join(", ", astray.Select(a => $"{a.NodeId}->{a.Status!.ServerId ?? "none"}"))}"));
        }

        var protocols = up.Select(n => n.Status!.Protocol).Distinct().ToList();
        if (protocols.Count > 1)
        {
            checks.Add(new Check("protocol", Severity.Critical, $"protocol skew: versions {string.Join(", ", protocols.Order())} cannot talk to each other"));
        }

        var versions = up.GroupBy(n => n.Status!.Version).ToList();
        checks.Add(versions.Count <= 1
            ? new Check("version", Severity.Ok, $"every node runs {versions.FirstOrDefault()?.Key ?? "?"}")
            : new Check("version", Severity.Warning, $"version skew: {string.Join(", ", versions.Select(g => $"{g.Key} on {g.Count()}"))}"));

        var disks = up.Where(n => n.Status!.Disk.TotalBytes > 0).Select(n => (Node: n, Free: (double)n.Status!.Disk.FreeBytes / n.Status.Disk.TotalBytes)).ToList();
        var critical = disks.Where(d => d.Free < DiskCritical).ToList();
        var low = disks.Where(d => d.Free < DiskWarning).ToList();
        checks.Add(critical.Count > 0
            ? new Check("disk", Severity.Critical, $"disk nearly full on {string.Join(", ", critical.Select(d => $"{d.Node.NodeId} ({d.Free:P0} free)"))}")
            : low.Count > 0
                ? new Check("disk", Severity.Warning, $"disk low on {string.Join(", ", low.Select(d => $"{d.Node.NodeId} ({d.Free:P0} free)"))}")
                : new Check("disk", Severity.Ok, "every data disk has at least 10 % free"));

        var churning = up.Where(n => n.Status!.ElectionsLastHour > ChurnPerHour).ToList();
        checks.Add(churning.Count == 0
            ? new Check("elections", Severity.Ok, "no election churn")
            : new Check("elections", Severity.Warning, $"election churn: {string.Join(", ", churning.Select(c => $"{c.NodeId} changed server {c.Status!.ElectionsLastHour} times in the last hour"))}"));

        // A patch that could not be obtained, verified or applied is never silent: it warns until a pass succeeds.
        var failing = up.Where(n => n.Status!.LastPass is { Failed: > 0 }).ToList();
        checks.Add(failing.Count == 0
            ? new Check("updates", Severity.Ok, "no failures in the nodes' last passes")
            : new Check("updates", Severity.Warning, $"last pass failed on {string.Join("; ", failing.Select(f => $"{f.NodeId}: {f.Status!.LastPass!.Failed} failed ({string.Join(", ", f.Status.LastPass.Failures.Take(3))})"))}"));
        return checks;
    }

    private static string ClusterName(string id) => id.Length == 0 ? "no key" : $"cluster {id}";

    public static Severity Overall(IReadOnlyList<Check> checks) => checks.Count == 0 ? Severity.Ok : checks.Max(c => c.Severity);
}
