using System.CommandLine;
using System.Text.Json;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Cli;

/// <summary>
/// `peerpatch update`: asks a node (this PC's, by default) to run one pass and follows it to its end.
/// Exit 0 when every patch applied, 1 when any failed, 2 when the node cannot be reached.
/// </summary>
internal static class UpdateCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Create()
    {
        var node = CliApp.NodeOption();
        var json = CliApp.JsonOption("print one JSON object per patch, then {\"summary\":{...}}");
        var command = new Command("update", "Run one update pass on a node and follow it.") { node, json };
        command.SetAction(async (result, ct) =>
        {
            var asJson = result.GetValue(json);
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            HttpResponseMessage response;
            try
            {
                var url = new Uri(new Uri(result.GetValue(node)!.TrimEnd('/') + "/"), "v1/update");
                response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, url), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or UriFormatException)
            {
                await Console.Error.WriteLineAsync($"peerpatch: cannot reach the node: {e.Message}").ConfigureAwait(false);
                return 2;
            }

            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    await Console.Error.WriteLineAsync($"peerpatch: the node answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}").ConfigureAwait(false);
                    return 2;
                }

                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
                PassSummary? summary = null;
                while (await ReadLineAsync(reader, ct).ConfigureAwait(false) is { } line)
                {
                    if (line.Length == 0)
                    {
                        continue;
                    }

                    if (asJson)
                    {
                        Console.WriteLine(line);
                    }

                    if (line.StartsWith("{\"summary\"", StringComparison.Ordinal))
                    {
                        summary = JsonSerializer.Deserialize<SummaryLine>(line, Json)?.Summary;
                        if (!asJson && summary is not null)
                        {
                            PrintSummary(summary);
                        }
                    }
                    else if (!asJson && JsonSerializer.Deserialize<PatchOutcome>(line, Json) is { } outcome)
                    {
                        Console.WriteLine(outcome.Applied
                            ? $"applied  {outcome.Patch}  ({Bytes(outcome.Bytes)} from {outcome.From})"
                            : $"FAILED   {outcome.Patch}: {outcome.Error}");
                    }
                }

                if (summary is null)
                {
                    await Console.Error.WriteLineAsync("peerpatch: the node stopped before the pass ended").ConfigureAwait(false);
                    return 2;
                }

                return summary.Failed == 0 ? 0 : 1;
            }
        });
        return command;
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

    private static void PrintSummary(PassSummary s)
    {
        foreach (var error in s.SourceErrors)
        {
            Console.WriteLine($"FAILED   source: {error}");
        }

        Console.WriteLine($"pass {s.PassId}: {s.Applied} applied, {s.Failed} failed, {s.AlreadyApplied} already applied; {Bytes(s.LanBytes)} from the LAN, {Bytes(s.InternetBytes)} from the internet");
    }

    internal static string Bytes(long n) => n switch
    {
        >= 1L << 30 => $"{n / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{n / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{n / 1024.0:0.0} KiB",
        _ => $"{n} B",
    };
}
