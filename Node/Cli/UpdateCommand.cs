using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Status;
using Spectre.Console;

namespace PeerPatch.Node.Cli;

/// <summary>
/// `peerpatch update`: asks a node (this PC's, by default) to run one pass and follows it to its end: a progress bar
/// per transfer (rate, ETA) on a terminal, plain lines otherwise, the node's NDJSON as is with --json.
/// Exit 0 when every patch applied; 1 when a patch or a source failed, or the pass hit its deadline (the summary
/// says which); 2 when the node cannot be reached or stopped mid-pass; 3 when a pass is already running there;
/// 130 when interrupted (the node then cancels the pass).
/// </summary>
internal static partial class UpdateCommand
{
    public static Command Create()
    {
        var node = CliApp.NodeOption();
        var json = CliApp.JsonOption("print the node's lines as they come: {\"progress\":{...}} while a patch moves, one JSON object per patch, then {\"summary\":{...}}");
        var plain = new Option<bool>("--plain") { Description = "plain lines even on a terminal (no progress bars)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "obtain and verify every patch (and stage apt's packages in its cache), but apply and install nothing" };
        var keyFile = CliApp.KeyFileOption();
        var command = new Command("update", "Run one update pass on a node and follow it.") { node, json, plain, dryRun, keyFile };
        command.SetAction(async (result, ct) =>
        {
            try
            {
                return await RunAsync(result, node, json, plain, dryRun, keyFile, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("peerpatch: interrupted; the node cancels the pass").ConfigureAwait(false);
                return 130;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, Option<string> node, Option<bool> json, Option<bool> plain, Option<bool> dryRun, Option<string?> keyFile, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        HttpResponseMessage response;
        try
        {
            var url = new Uri(new Uri(result.GetValue(node)!.TrimEnd('/') + "/"), result.GetValue(dryRun) ? "v1/update?dryRun=true" : "v1/update");
            var request = new HttpRequestMessage(HttpMethod.Post, url);
            if (!await SignAsync(request, result.GetValue(keyFile)).ConfigureAwait(false))
            {
                return 2;
            }

            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or UriFormatException)
        {
            await Console.Error.WriteLineAsync($"peerpatch: cannot reach the node: {e.Message}").ConfigureAwait(false);
            return 2;
        }

        using (response)
        {
            if (response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                await Console.Error.WriteLineAsync($"peerpatch: {(await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)).Trim()}").ConfigureAwait(false);
                return 3;
            }

            if (!response.IsSuccessStatusCode)
            {
                await Console.Error.WriteLineAsync($"peerpatch: the node answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}").ConfigureAwait(false);
                return 2;
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
            var interactive = !result.GetValue(plain) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            PassSummary? summary;
            if (result.GetValue(json))
            {
                summary = await FollowAsync(reader, new JsonView(), ct).ConfigureAwait(false);
            }
            else if (interactive)
            {
                summary = null;
                await AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                    .StartAsync(async progress => summary = await FollowAsync(reader, new BarsView(progress), ct).ConfigureAwait(false))
                    .ConfigureAwait(false);
            }
            else
            {
                summary = await FollowAsync(reader, new PlainView(), ct).ConfigureAwait(false);
            }

            if (summary is null)
            {
                await Console.Error.WriteLineAsync("peerpatch: the node stopped before the pass ended").ConfigureAwait(false);
                return 2;
            }

            return summary.Failed == 0 ? 0 : 1;
        }
    }

    /// <summary>Signs the request when a cluster key is at hand (the node refuses unsigned passes when it has one).</summary>
    internal static async Task<bool> SignAsync(HttpRequestMessage request, string? keyFile)
    {
        Protocol.Security.ClusterKey? key;
        try
        {
            key = Security.ClusterKeyFile.Load(keyFile, out _, out _);
        }
        catch (InvalidDataException e) when (keyFile is null)
        {
            // The default key exists but is not readable here (not root): go unsigned; a keyed node will say 401.
            await Console.Error.WriteLineAsync($"peerpatch: {e.Message}; sending the request unsigned").ConfigureAwait(false);
            return true;
        }
        catch (InvalidDataException e)
        {
            await Console.Error.WriteLineAsync($"peerpatch: {e.Message}").ConfigureAwait(false);
            return false;
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", Protocol.Security.HttpSignature.Create(
                key, request.Method.Method, request.RequestUri!.PathAndQuery, "cli", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)));
        }

        return true;
    }

    internal static string Bytes(long n) => Protocol.Status.ByteSize.Format(n);

    /// <summary>Reads the node's NDJSON to the summary line; null when the stream ends first.</summary>
    private static async Task<PassSummary?> FollowAsync(StreamReader reader, IPassView view, CancellationToken ct)
    {
        while (await ReadLineAsync(reader, ct).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            view.Line(line);
            if (line.StartsWith("{\"progress\"", StringComparison.Ordinal))
            {
                if (JsonSerializer.Deserialize(line, PassJson.Default.ProgressLine)?.Progress is { } p)
                {
                    view.Progress(p);
                }
            }
            else if (line.StartsWith("{\"summary\"", StringComparison.Ordinal))
            {
                var summary = JsonSerializer.Deserialize(line, PassJson.Default.SummaryLine)?.Summary;
                if (summary is not null)
                {
                    view.Summary(summary);
                }

                return summary;
            }
            else if (JsonSerializer.Deserialize(line, PassJson.Default.PatchOutcome) is { } outcome)
            {
                view.Outcome(outcome);
            }
        }

        return null;
    }

    private static async Task<string?> ReadLineAsync(StreamReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.ReadLineAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return null; // the node went away mid-pass: reported as "stopped before the pass ended"
        }
    }

    private static string OutcomeText(PatchOutcome o) => o switch
    {
        { Applied: true } => $"applied  {Show(o.Patch)}  ({Bytes(o.Bytes)} from {o.From})",
        { DryRun: true, Error: null } => $"ready    {Show(o.Patch)}  ({Bytes(o.Bytes)} from {o.From}; dry run: not applied)",
        _ => $"FAILED   {Show(o.Patch)}: {Show(o.Error)}",
    };

    /// <summary>Text from a feed or the network as the terminal may show it: secrets masked, control characters escaped.</summary>
    private static string Show(string? text) => Protocol.Text.LogText.Sanitize(text);

    private static IEnumerable<string> SummaryText(PassSummary s) =>
        [
            .. s.SourceErrors.Select(e => $"FAILED   source: {Show(e)}"),
            .. s.Stopped is { } why ? [$"STOPPED  {Show(why)}"] : Array.Empty<string>(),
            $"pass {s.PassId}: {(s.DryRun ? $"dry run, {s.Ready} ready, " : "")}{s.Applied} applied, {s.Failed} failed{(s.SourceErrors.Count > 0 ? $" ({s.SourceErrors.Count} of them sources)" : "")}, {s.AlreadyApplied} already applied; {Bytes(s.LanBytes)} from the LAN, {Bytes(s.InternetBytes)} from the internet",
        ];

    private interface IPassView
    {
        void Line(string line)
        {
        }

        void Progress(TransferProgress p)
        {
        }

        void Outcome(PatchOutcome o)
        {
        }

        void Summary(PassSummary s)
        {
        }
    }

    /// <summary>--json: the node's lines unchanged.</summary>
    private sealed class JsonView : IPassView
    {
        public void Line(string line) => Console.WriteLine(line);
    }

    /// <summary>Not a terminal: one line when a patch starts moving from a source, one per outcome, the summary.</summary>
    private sealed class PlainView : IPassView
    {
        private (string Patch, string Stage)? _last;

        public void Progress(TransferProgress p)
        {
            if (_last != (p.Patch, p.Stage) && p.Stage is "lan" or "internet" or "waiting")
            {
                Console.WriteLine(p.Stage == "waiting" ? $"waiting  {Show(p.Patch)}: another PC is downloading it" : $"fetching {Show(p.Patch)} ({Bytes(p.Total)}) from {p.Stage}");
            }

            _last = (p.Patch, p.Stage);
        }

        public void Outcome(PatchOutcome o) => Console.WriteLine(OutcomeText(o));

        public void Summary(PassSummary s)
        {
            foreach (var line in SummaryText(s))
            {
                Console.WriteLine(line);
            }
        }
    }

    /// <summary>A terminal: a Spectre.Console progress bar per patch with bytes, rate and time left.</summary>
    private sealed class BarsView(ProgressContext progress) : IPassView
    {
        private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);

        public void Progress(TransferProgress p)
        {
            if (!_tasks.TryGetValue(p.Patch, out var task))
            {
                task = progress.AddTask(Markup.Escape(Show(p.Patch)), maxValue: Math.Max(1, p.Total));
                _tasks[p.Patch] = task;
            }

            task.Description = Markup.Escape($"{Show(p.Patch)} [{p.Stage}]");
            if (p.Stage is "lan" or "internet")
            {
                task.Value = Math.Min(p.Bytes, task.MaxValue);
            }
        }

        public void Outcome(PatchOutcome o)
        {
            if (!_tasks.TryGetValue(o.Patch, out var task))
            {
                task = progress.AddTask(Markup.Escape(Show(o.Patch)), maxValue: Math.Max(1, o.Bytes));
            }

            task.Description = Markup.Escape($"{Show(o.Patch)} [{(o.Applied ? $"applied from {o.From}" : "FAILED")}]");
            task.Value = task.MaxValue;
            task.StopTask();
            if (!o.Applied)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(OutcomeText(o))}[/]");
            }
        }

        public void Summary(PassSummary s)
        {
            foreach (var line in SummaryText(s))
            {
                AnsiConsole.WriteLine(line);
            }
        }
    }

    /// <summary>The node's NDJSON lines, source-generated (web casing).</summary>
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(ProgressLine))]
    [JsonSerializable(typeof(PatchOutcome))]
    [JsonSerializable(typeof(SummaryLine))]
    private sealed partial class PassJson : JsonSerializerContext;
}
