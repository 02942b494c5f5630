using System.CommandLine;
using System.Text;
using PeerPatch.Protocol.Status;
using PeerPatch.Protocol.Text;
using Spectre.Console;

namespace PeerPatch.Diag;

/// <summary>
/// `peerpatch-diag compliance`: which PC has, lacks, failed or is held on which patch, from the LAN server's
/// GET /v1/compliance. Exit codes like `health`: 0 every (fresh) node has every patch; 1 something pending or held
/// by policy (held is never a failure); 2 a failure or a stale node; 3 no server answered.
/// </summary>
internal static partial class DiagApp
{
    private static Command ComplianceCommand(Option<string[]> node, Option[] common, Func<ParseResult, DiagSettings> settings, Option<string?> os, Option<bool> json)
    {
        var patch = new Option<string?>("--patch") { Description = "only this patch" };
        var csv = new Option<bool>("--csv") { Description = "CSV, one row per patch and node: os,patch,node,hostname,state,detail" };
        var command = new Command("compliance", "Per patch: which PCs have it, lack it, failed it (with the error), are held by policy, or are stale; per PC: what it lacks. --node takes a node id or hostname to show (or, as elsewhere, http://HOST:PORT to ask). Exit 0 all compliant, 1 pending or held, 2 failures or stale nodes.");
        foreach (var o in common.Append(os).Append(patch).Append(csv))
        {
            command.Options.Add(o);
        }

        command.SetAction(async (r, ct) =>
        {
            // --node is shared: URLs say where to ask, anything else which node to show.
            var given = r.GetValue(node) ?? [];
            var urls = given.Where(IsUrl).ToArray();
            var filter = given.Where(g => !IsUrl(g)).ToArray();
            if (filter.Length > 1)
            {
                await Console.Error.WriteLineAsync("peerpatch-diag: compliance shows one node at a time (--node ID)").ConfigureAwait(false);
                return 3;
            }

            var s = settings(r) with { Nodes = urls };
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(3) }) { Timeout = Timeout.InfiniteTimeSpan };
            try
            {
                return await ComplianceAsync(new LanReader(http, s), r.GetValue(os), r.GetValue(patch), filter.FirstOrDefault(), r.GetValue(json), r.GetValue(csv), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is UriFormatException or System.Net.Sockets.SocketException || LanReader.IsNodeFailure(e, ct))
            {
                await Console.Error.WriteLineAsync($"peerpatch-diag: {LogText.Sanitize(e.Message)}").ConfigureAwait(false);
                return 3;
            }
        });
        return command;
    }

    private static bool IsUrl(string value) => value.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static async Task<int> ComplianceAsync(LanReader reader, string? os, string? patch, string? node, bool json, bool csv, CancellationToken ct)
    {
        var lan = await reader.ReadAsync(ct).ConfigureAwait(false);
        var server = lan.Servers.FirstOrDefault();
        if (server is null)
        {
            await Console.Error.WriteLineAsync("peerpatch-diag: no server answers; compliance cannot be read").ConfigureAwait(false);
            return 3;
        }

        var query = new List<string>();
        if (os is not null)
        {
            query.Add("os=" + Uri.EscapeDataString(os));
        }

        if (patch is not null)
        {
            query.Add("patch=" + Uri.EscapeDataString(patch));
        }

        if (node is not null)
        {
            query.Add("node=" + Uri.EscapeDataString(node));
        }

        var url = new Uri(new Uri(server.Url), "v1/compliance" + (query.Count == 0 ? string.Empty : "?" + string.Join('&', query)));
        var view = await reader.GetAsync(url, StatusJsonContext.Default.ComplianceView, ct).ConfigureAwait(false);
        if (json)
        {
            Print(view, DiagJson.Default.ComplianceView);
        }
        else if (csv)
        {
            Console.Write(ComplianceCsv(view));
        }
        else
        {
            AnsiConsole.Write(Views.CompliancePatches(view));
            AnsiConsole.Write(Views.ComplianceNodes(view));
        }

        return view.ExitCode();
    }

    /// <summary>One row per patch and node; fields quoted, and a leading = + - @ defused (spreadsheets run formulas).</summary>
    internal static string ComplianceCsv(ComplianceView view)
    {
        var hostnames = view.Nodes.ToDictionary(n => n.NodeId, n => n.Hostname, StringComparer.Ordinal);
        var b = new StringBuilder("os,patch,node,hostname,state,detail\n");
        void Row(PatchCoverage p, string id, string state, string detail) =>
            b.Append(Field(p.Os)).Append(',').Append(Field(p.Patch)).Append(',').Append(Field(id)).Append(',')
             .Append(Field(hostnames.GetValueOrDefault(id) ?? string.Empty)).Append(',').Append(state).Append(',').Append(Field(detail)).Append('\n');
        foreach (var p in view.Patches)
        {
            p.Have.ToList().ForEach(id => Row(p, id, ComplianceStates.Applied, string.Empty));
            p.Lack.ToList().ForEach(id => Row(p, id, ComplianceStates.Pending, string.Empty));
            p.Failed.ToList().ForEach(f => Row(p, f.Node, ComplianceStates.Failed, f.Text));
            p.Held.ToList().ForEach(h => Row(p, h.Node, ComplianceStates.Held, h.Text));
            p.Stale.ToList().ForEach(id => Row(p, id, "stale", string.Empty));
        }

        return b.ToString();
    }

    private static string Field(string value)
    {
        var v = LogText.Sanitize(value);
        if (v.Length > 0 && v[0] is '=' or '+' or '-' or '@')
        {
            v = "'" + v;
        }

        return "\"" + v.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
