using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using PeerPatch.Protocol.Status;
using PeerPatch.Protocol.Text;
using Spectre.Console;

namespace PeerPatch.Diag;

/// <summary>
/// `peerpatch-diag`: the admin's view of a PeerPatch LAN. Finds the nodes by itself (mDNS) or asks the given ones,
/// and shows them as tables on a terminal or as JSON (--json) for scripts. `health` follows the monitoring-plugin
/// convention: exit 0 ok, 1 warning, 2 critical.
/// </summary>
internal static partial class DiagApp
{
    public static Task<int> RunAsync(string[] args)
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 200; // a file or a pipe: no terminal to wrap for
        }

        var node = new Option<string[]>("--node") { Description = "ask this node (http://HOST:47471) and the members it knows, instead of mDNS; repeatable", AllowMultipleArgumentsPerToken = true };
        var nic = new Option<string[]>("--interface") { Description = "network interface for mDNS (default: every up, multicast, non-loopback one); repeatable" };
        var listen = new Option<double>("--listen") { Description = "seconds to listen for mDNS answers", DefaultValueFactory = _ => 2 };
        var timeout = new Option<double>("--timeout") { Description = "seconds one node may take to answer", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "JSON for scripts instead of tables" };
        var os = new Option<string?>("--os") { Description = "only patches for this OS key (e.g. debian-12-amd64)" };
        var interval = new Option<double>("--interval") { Description = "seconds between refreshes", DefaultValueFactory = _ => 2 };
        var count = new Option<int>("--count") { Description = "stop after this many refreshes (0: until Ctrl+C)" };
        var keyFile = KeyFileOption();
        var patchName = new Argument<string>("PATCH") { Description = "the patch name (or a glob: *, ?)" };
        Option[] common = [node, nic, listen, timeout, json];

        DiagSettings Settings(ParseResult r) => new(
            r.GetValue(node) ?? [], r.GetValue(nic) ?? [], TimeSpan.FromSeconds(Math.Clamp(r.GetValue(listen), 0.2, 60)), TimeSpan.FromSeconds(Math.Clamp(r.GetValue(timeout), 0.2, 120)));

        Command Make(string name, string description, Func<ParseResult, DiagContext, CancellationToken, Task<int>> action, params Option[] extra)
        {
            var command = new Command(name, description);
            foreach (var o in common.Concat(extra))
            {
                command.Options.Add(o);
            }

            command.SetAction(async (r, ct) =>
            {
                using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(3) }) { Timeout = Timeout.InfiniteTimeSpan };
                var settings = Settings(r);
                try
                {
                    return await action(r, new DiagContext(new LanReader(http, settings), r.GetValue(json)), ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is UriFormatException or System.Net.Sockets.SocketException)
                {
                    await Console.Error.WriteLineAsync($"peerpatch-diag: {LogText.Sanitize(e.Message)}").ConfigureAwait(false);
                    return 3;
                }
            });
            return command;
        }

        var root = new RootCommand("peerpatch-diag: see a PeerPatch LAN: its nodes, its server, its patch database, what it saved, and whether it is healthy.")
        {
            Make("nodes", "List every node: id, host, address, OS, role, term, version, uptime, last seen, cache use, hits.", NodesAsync),
            Make("server", "Show the LAN server (exit 2 when there is none, or more than one).", ServerAsync),
            Make("patches", "The server's patch database, with sizes, hits and the nodes holding each file.", (r, c, ct) => PatchesAsync(c, r.GetValue(os), ct), os),
            Make("stats", "Internet bytes against LAN bytes, per node and in total, and the share the LAN saved.", StatsAsync),
            Make("health", "Check the LAN: exit 0 ok, 1 warning, 2 critical (monitoring-plugin convention).", HealthAsync),
            ComplianceCommand(node, common, Settings, os, json),
            Make("policy", "The LAN's policy at the server (rings, holds, the internet budget) and ring 0's record per patch.", (r, c, ct) => PolicyAsync(c, ct)),
            WithArgument(Make("approve", "Approve a patch for every ring now: a new policy version at the server (signed with the cluster key when there is one).", (r, c, ct) => RuleAsync(c, "approve", r.GetValue(patchName)!, r.GetValue(os), r.GetValue(keyFile), ct), os, keyFile), patchName),
            WithArgument(Make("hold", "Hold a patch everywhere, ring 0 included: a new policy version at the server.", (r, c, ct) => RuleAsync(c, "hold", r.GetValue(patchName)!, r.GetValue(os), r.GetValue(keyFile), ct), os, keyFile), patchName),
            Make("watch", "A live view of the nodes that refreshes.", (r, c, ct) => WatchAsync(c, TimeSpan.FromSeconds(Math.Clamp(r.GetValue(interval), 0.2, 3600)), r.GetValue(count), ct), interval, count),
        };
        return root.Parse(args).InvokeAsync();
    }

    private static Command WithArgument(Command command, Argument argument)
    {
        command.Arguments.Add(argument);
        return command;
    }

    private static async Task<int> NodesAsync(ParseResult r, DiagContext c, CancellationToken ct)
    {
        var lan = await c.Reader.ReadAsync(ct).ConfigureAwait(false);
        if (c.Json)
        {
            Print(lan.Nodes, DiagJson.Default.IReadOnlyListNodeReport);
        }
        else
        {
            AnsiConsole.Write(Views.Nodes(lan));
        }

        return 0;
    }

    private static async Task<int> ServerAsync(ParseResult r, DiagContext c, CancellationToken ct)
    {
        var lan = await c.Reader.ReadAsync(ct).ConfigureAwait(false);
        var servers = lan.Servers;
        var server = servers.FirstOrDefault();
        var followers = server is null ? 0 : lan.Answering.Count(n => n.Status!.ServerId == server.NodeId);
        if (c.Json)
        {
            Print(new ServerJson(server, [.. servers.Select(s => s.NodeId)], followers, lan.Nodes.Count), DiagJson.Default.ServerJson);
        }
        else if (server is null)
        {
            AnsiConsole.MarkupLine($"[red]no server[/] among {lan.Nodes.Count} node(s)");
        }
        else
        {
            var s = server.Status!;
            AnsiConsole.MarkupLine($"server [bold]{Views.Esc(s.NodeId)}[/] on {Views.Esc(s.Host)} at {Views.Esc(server.Url)} · term {s.Term} · {(s.Elected ? "elected" : "configured")} · version {Views.Esc(s.Version)}");
            AnsiConsole.MarkupLine($"{s.Patches} patches, {Views.Bytes(s.Blobs.Bytes)} in {s.Blobs.Count} blobs · {s.Stats.Hits} hits, {s.Stats.Misses} misses · {followers} of {lan.Nodes.Count} node(s) follow it");
            if (servers.Count > 1)
            {
                AnsiConsole.MarkupLine($"[red]{servers.Count} servers:[/] {Views.Esc(string.Join(", ", servers.Select(x => x.NodeId)))}");
            }
        }

        return servers.Count == 1 ? 0 : 2;
    }

    private static async Task<int> PatchesAsync(DiagContext c, string? os, CancellationToken ct)
    {
        var lan = await c.Reader.ReadAsync(ct).ConfigureAwait(false);
        var server = lan.Servers.FirstOrDefault();
        if (server is null)
        {
            await Console.Error.WriteLineAsync("peerpatch-diag: no server answers; its database cannot be read").ConfigureAwait(false);
            return 2;
        }

        var query = os is null ? "v1/patches" : $"v1/patches?os={Uri.EscapeDataString(os)}";
        var rows = await c.Reader.GetAsync(new Uri(new Uri(server.Url), query), StatusJsonContext.Default.ListPatchEntry, ct).ConfigureAwait(false);

        // Holders: every answering node's own database lists the files its store holds. Asked LanReader.MaxParallel at
        // a time (as the status reads are): one after another, each slow node on a big LAN added a whole --timeout.
        using var parallel = new SemaphoreSlim(LanReader.MaxParallel, LanReader.MaxParallel);
        var held = await Task.WhenAll(lan.Answering.Select(async n =>
        {
            await parallel.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                return (n.NodeId, Patches: await c.Reader.GetAsync(new Uri(new Uri(n.Url), query), StatusJsonContext.Default.ListPatchEntry, ct).ConfigureAwait(false));
            }
            catch (Exception e) when (LanReader.IsNodeFailure(e, ct))
            {
                return (n.NodeId, Patches: new List<PatchEntry>()); // a node that stops answering holds nothing we can show
            }
            finally
            {
                parallel.Release();
            }
        })).ConfigureAwait(false);

        var holders = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (nodeId, patches) in held)
        {
            foreach (var p in patches)
            {
                if (!holders.TryGetValue(p.Sha256, out var list))
                {
                    holders[p.Sha256] = list = [];
                }

                if (!list.Contains(nodeId))
                {
                    list.Add(nodeId);
                }
            }
        }

        var result = rows.Select(p => new PatchRow(p.Os, p.Name, p.Sha256, p.Size, p.Hits, p.AddedAt, p.AddedBy, holders.GetValueOrDefault(p.Sha256) ?? [])).ToList();
        if (c.Json)
        {
            Print(result, DiagJson.Default.ListPatchRow);
        }
        else
        {
            AnsiConsole.Write(Views.Patches(result, server.NodeId));
        }

        return 0;
    }

    private static async Task<int> StatsAsync(ParseResult r, DiagContext c, CancellationToken ct)
    {
        var lan = await c.Reader.ReadAsync(ct).ConfigureAwait(false);
        var stats = TrafficReport.From(lan);
        if (c.Json)
        {
            Print(stats, DiagJson.Default.TrafficReport);
        }
        else
        {
            AnsiConsole.Write(Views.Stats(stats));
        }

        return 0;
    }

    private static async Task<int> HealthAsync(ParseResult r, DiagContext c, CancellationToken ct)
    {
        var lan = await c.Reader.ReadAsync(ct).ConfigureAwait(false);
        var checks = Health.Evaluate(lan);
        var overall = Health.Overall(checks);
        if (c.Json)
        {
            Print(new HealthJson(overall.ToString().ToLowerInvariant(), (int)overall, [.. checks.Select(k => new CheckJson(k.Name, k.Severity.ToString().ToLowerInvariant(), k.Message))]), DiagJson.Default.HealthJson);
        }
        else
        {
            // First line as monitoring plugins print it: SERVICE STATUS - summary.
            var worst = checks.Where(k => k.Severity == overall).Select(k => k.Message).FirstOrDefault() ?? "";
            Console.WriteLine($"PEERPATCH {overall.ToString().ToUpperInvariant()} - {LogText.Sanitize(worst)}");
            foreach (var k in checks)
            {
                Console.WriteLine($"  {k.Severity.ToString().ToLowerInvariant(),-8} {k.Name,-9} {LogText.Sanitize(k.Message)}");
            }
        }

        return (int)overall;
    }

    private static async Task<int> WatchAsync(DiagContext c, TimeSpan every, int count, CancellationToken ct)
    {
        var n = 0;
        async Task<LanView?> NextAsync()
        {
            if (count > 0 && n++ >= count)
            {
                return null;
            }

            if (n > 1)
            {
                await Task.Delay(every, ct).ConfigureAwait(false);
            }

            return await c.Reader.ReadAsync(ct).ConfigureAwait(false);
        }

        try
        {
            if (c.Json || Console.IsOutputRedirected)
            {
                while (await NextAsync().ConfigureAwait(false) is { } lan)
                {
                    Console.WriteLine(c.Json
                        ? JsonSerializer.Serialize(new WatchJson(lan.At, lan.Nodes, Health.Overall(Health.Evaluate(lan)).ToString().ToLowerInvariant()), DiagJson.Compact.WatchJson)
                        : $"{lan.At:HH:mm:ss} {lan.Nodes.Count} nodes, {lan.Answering.Count()} answering, server {LogText.Sanitize(lan.Servers.FirstOrDefault()?.NodeId ?? "none")}, health {Health.Overall(Health.Evaluate(lan))}");
                }

                return 0;
            }

            var first = await NextAsync().ConfigureAwait(false);
            await AnsiConsole.Live(Views.Watch(first!)).StartAsync(async live =>
            {
                while (await NextAsync().ConfigureAwait(false) is { } lan)
                {
                    live.UpdateTarget(Views.Watch(lan));
                    live.Refresh();
                }
            }).ConfigureAwait(false);
            return 0;
        }
        catch (OperationCanceledException)
        {
            return 0; // Ctrl+C
        }
    }

    private static void Print<T>(T value, JsonTypeInfo<T> type) => Console.WriteLine(JsonSerializer.Serialize(value, type));

    private sealed record DiagContext(LanReader Reader, bool Json);

    /// <summary>`server --json`.</summary>
    private sealed record ServerJson(NodeReport? Server, IReadOnlyList<string> Servers, int Followers, int Nodes);

    /// <summary>`health --json`.</summary>
    private sealed record HealthJson(string Status, int ExitCode, IReadOnlyList<CheckJson> Checks);

    private sealed record CheckJson(string Name, string Severity, string Message);

    /// <summary>One line of `watch --json`.</summary>
    private sealed record WatchJson(DateTimeOffset At, IReadOnlyList<NodeReport> Nodes, string Health);

    /// <summary>
    /// Every document peerpatch-diag prints, source-generated (Native AOT): web casing, indented for people;
    /// <see cref="Compact"/> writes `watch`'s one line per refresh.
    /// </summary>
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
    [JsonSerializable(typeof(IReadOnlyList<NodeReport>))]
    [JsonSerializable(typeof(ServerJson))]
    [JsonSerializable(typeof(List<PatchRow>))]
    [JsonSerializable(typeof(TrafficReport))]
    [JsonSerializable(typeof(HealthJson))]
    [JsonSerializable(typeof(WatchJson))]
    [JsonSerializable(typeof(ComplianceView))]
    private sealed partial class DiagJson : JsonSerializerContext
    {
        public static DiagJson Compact { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web));
    }
}

/// <summary>One row of `patches`: a database row and the nodes holding the file.</summary>
internal sealed record PatchRow(string Os, string Name, string Sha256, long Size, long Hits, DateTimeOffset AddedAt, string AddedBy, IReadOnlyList<string> Holders);
