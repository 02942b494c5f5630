using PeerPatch.Protocol.Status;
using PeerPatch.Protocol.Text;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace PeerPatch.Diag;

/// <summary>The terminal tables (Spectre.Console).</summary>
internal static class Views
{
    public static Table Nodes(LanView lan)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("node", "host", "address", "OS", "role", "term", "version", "uptime", "last seen", "cache", "hits", "last pass", "state");
        foreach (var n in lan.Nodes)
        {
            var seen = n.LastSeen is { } at ? Ago(lan.At - at) : "-";
            if (n.Status is not { } s)
            {
                table.AddRow(Esc(n.NodeId), "", Esc(Address(n.Url)), "", "", "", "", "", seen, "", "", "", $"[red]{Esc(n.Error ?? "unreachable")}[/]");
                continue;
            }

            var cache = s.Blobs.CapacityBytes > 0 ? $"{Bytes(s.Blobs.Bytes)} / {Bytes(s.Blobs.CapacityBytes)}" : Bytes(s.Blobs.Bytes);
            table.AddRow(
                s.Role == "server" ? $"[bold]{Esc(s.NodeId)}[/]" : Esc(s.NodeId), Esc(s.Host), Esc(Address(n.Url)), Esc(s.Os),
                s.Role == "server" ? "[green]server[/]" : "client", s.Term.ToString(), Esc(s.Version), Ago(TimeSpan.FromSeconds(s.UptimeSeconds)),
                seen, cache, s.Stats.Hits.ToString(), LastPass(s.LastPass), s.UpdateRunning ? "updating" : "[green]ok[/]");
        }

        return table.Caption($"{lan.Nodes.Count} node(s), {lan.Answering.Count()} answering, server {Esc(lan.Servers.FirstOrDefault()?.NodeId ?? "none")}");
    }

    /// <summary>"3 applied, [red]2 failed[/]: first failure" for a node's last pass; "-" before its first.</summary>
    private static string LastPass(PassStatus? p) => p switch
    {
        null => "-",
        { Failed: 0 } => $"{p.Applied} applied{(p.DryRun ? $", {p.Ready} ready (dry run)" : "")}",
        _ => $"{p.Applied} applied, [red]{p.Failed} failed[/]{(p.Failures.Count > 0 ? $": {Esc(p.Failures[0])}" : "")}",
    };

    public static Table Patches(IReadOnlyList<PatchRow> rows, string server)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("OS", "patch", "size", "hits", "added by", "holders");
        foreach (var p in rows)
        {
            table.AddRow(Esc(p.Os), Esc(p.Name), Bytes(p.Size), p.Hits.ToString(), Esc(p.AddedBy), Esc($"{p.Holders.Count}: {string.Join(", ", p.Holders)}"));
        }

        return table.Caption($"{rows.Count} patch(es), {Bytes(rows.Sum(r => r.Size))}, in the database of server {Esc(server)}");
    }

    public static Table Stats(TrafficReport report)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("node", "role", "internet", "LAN fetched", "LAN served", "as server", "as peer", "busy 503", "refused", "pushed", "received", "applied");
        foreach (var n in report.Nodes.Append(report.Total))
        {
            table.AddRow(n.NodeId == "total" ? "[bold]total[/]" : Esc(n.NodeId), n.Role, Bytes(n.InternetBytes), Bytes(n.LanBytesFetched), Bytes(n.LanBytesServed), Bytes(n.ServedAsServer), Bytes(n.ServedAsPeer), n.UploadsBusy.ToString(), n.BlobReadsRefused.ToString(), Bytes(n.LanBytesPushed), Bytes(n.LanBytesReceived), n.Applied.ToString());
        }

        var unreachable = report.Unreachable > 0 ? $"; {report.Unreachable} node(s) not answering are not counted" : "";
        return table.Caption($"the LAN saved {report.SavingsPercent:0.#} % of patch downloads; peers served {report.PeerSharePercent:0.#} % of LAN bytes ({Bytes(report.Total.ServedAsPeer)} by peers, {Bytes(report.Total.ServedAsServer)} by the server){unreachable}");
    }

    public static IRenderable Watch(LanView lan)
    {
        var checks = Health.Evaluate(lan);
        var overall = Health.Overall(checks);
        var color = overall switch { Severity.Ok => "green", Severity.Warning => "yellow", _ => "red" };
        var traffic = TrafficReport.From(lan);
        return new Rows(
            new Markup($"[bold]PeerPatch LAN[/] at {lan.At.ToLocalTime():HH:mm:ss} · health [{color}]{overall}[/] · saved {traffic.SavingsPercent:0.#} % ({Bytes(traffic.Total.LanBytesFetched)} LAN, {Bytes(traffic.Total.InternetBytes)} internet)"),
            Nodes(lan),
            new Markup(string.Join("\n", checks.Where(c => c.Severity != Severity.Ok).Select(c => Esc($"{c.Severity}: {c.Message}")))));
    }

    public static string Bytes(long n) => Protocol.Status.ByteSize.Format(n);

    private static string Ago(TimeSpan t) => t.TotalSeconds switch
    {
        < 60 => $"{(int)t.TotalSeconds} s",
        < 3600 => $"{(int)t.TotalMinutes} min",
        < 86400 => $"{(int)t.TotalHours} h",
        _ => $"{(int)t.TotalDays} d",
    };

    /// <summary>Text from the network (ids, host names, OS keys, errors) as markup-free, escaped, secret-free text.</summary>
    internal static string Esc(string s) => Markup.Escape(LogText.Sanitize(s));

    private static string Address(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.Authority : url;

    /// <summary>`compliance`: one row per patch with the count and the nodes in each state.</summary>
    public static Table CompliancePatches(ComplianceView view)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("OS", "patch", "have", "lack", "failed", "held", "stale");
        foreach (var p in view.Patches)
        {
            table.AddRow(
                Esc(p.Os), Esc(p.Patch), $"[green]{p.Have.Count}[/]", Esc(List(p.Lack)),
                p.Failed.Count == 0 ? "0" : $"[red]{Esc(List(p.Failed.Select(f => $"{f.Node}: {f.Text}").ToList()))}[/]",
                Esc(List(p.Held.Select(h => $"{h.Node}: {h.Text}").ToList())),
                p.Stale.Count == 0 ? "0" : $"[yellow]{Esc(List(p.Stale))}[/]");
        }

        return table.Caption($"{view.Patches.Count} patch(es); a node silent for {Ago(TimeSpan.FromSeconds(view.StaleAfterSeconds))} is stale");
    }

    /// <summary>`compliance`: one row per node with what it lacks.</summary>
    public static Table ComplianceNodes(ComplianceView view)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("node", "host", "ring", "OS", "last seen", "applied", "lacks", "failed", "held");
        foreach (var n in view.Nodes)
        {
            table.AddRow(
                Esc(n.NodeId), Esc(n.Hostname), Esc(n.Ring ?? "-"), Esc(n.Os),
                n.Stale ? $"[yellow]stale: {Ago(view.GeneratedAt - n.LastSeen)}[/]" : Ago(view.GeneratedAt - n.LastSeen),
                n.Applied.ToString(), Esc(string.Join(", ", n.Lacks)),
                n.Failed.Count == 0 ? "" : $"[red]{Esc(string.Join("; ", n.Failed.Select(f => $"{f.Node}: {f.Text}")))}[/]",
                Esc(string.Join("; ", n.Held.Select(h => $"{h.Node}: {h.Text}"))));
        }

        return table.Caption($"{view.Nodes.Count} node(s), {view.Nodes.Count(n => n.Stale)} stale");
    }

    private static string List(IReadOnlyList<string> items) => items.Count == 0 ? "0" : $"{items.Count}: {string.Join(", ", items)}";
}
