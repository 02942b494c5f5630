using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using PeerPatch.Protocol.Security;
using PeerPatch.Protocol.Status;
using PeerPatch.Protocol.Text;
using Spectre.Console;

namespace PeerPatch.Diag;

/// <summary>
/// `peerpatch-diag policy | approve PATCH | hold PATCH`: the LAN's policy at its server. approve and hold make a new
/// policy version there; on a keyed LAN they are signed with the cluster key file (--cluster-key-file, default the
/// node's /etc/peerpatch/cluster.key: diag reads it the way the node does, so it must run where that file is readable).
/// </summary>
internal static partial class DiagApp
{
    private static string DefaultKeyPath => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "PeerPatch", "cluster.key")
        : "/etc/peerpatch/cluster.key";

    internal static Option<string?> KeyFileOption() => new("--cluster-key-file") { Description = $"the cluster key that signs approve/hold on a keyed LAN (default {DefaultKeyPath} when it exists; \"none\": unsigned)" };

    private static async Task<int> PolicyAsync(DiagContext c, CancellationToken ct)
    {
        var lan = await c.Reader.ReadAsync(ct).ConfigureAwait(false);
        if (lan.Servers.FirstOrDefault() is not { } server)
        {
            AnsiConsole.MarkupLine($"[red]no server[/] among {lan.Nodes.Count} node(s)");
            return 2;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        var body = await http.GetByteArrayAsync(new Uri(new Uri(server.Url), "v1/policy"), ct).ConfigureAwait(false);
        var reply = JsonSerializer.Deserialize(body, StatusJsonContext.Default.PolicyReply);
        if (c.Json)
        {
            Print(reply!, StatusJsonContext.Default.PolicyReply);
            return 0;
        }

        AnsiConsole.MarkupLine($"policy at the server [bold]{Views.Esc(server.NodeId)}[/]{(reply?.Seal is null ? string.Empty : " (sealed with the cluster key)")}:");
        AnsiConsole.WriteLine(LogText.Sanitize(reply?.Envelope ?? "none"));
        foreach (var r in reply?.Ring0 ?? [])
        {
            AnsiConsole.MarkupLine($"ring 0 · {Views.Esc(r.Os ?? "?")} {Views.Esc(r.Patch ?? "?")}: {(r.FailedOn is { } f ? "[red]failed on " + Views.Esc(f) + "[/]" : r.FirstApplied is { } at ? $"first applied {at:u}" : "-")}");
        }

        return 0;
    }

    private static async Task<int> RuleAsync(DiagContext c, string verb, string patch, string? os, string? keyFile, CancellationToken ct)
    {
        var lan = await c.Reader.ReadAsync(ct).ConfigureAwait(false);
        if (lan.Servers.FirstOrDefault() is not { } server)
        {
            AnsiConsole.MarkupLine($"[red]no server[/] among {lan.Nodes.Count} node(s)");
            return 2;
        }

        var path = keyFile switch { null or "" => File.Exists(DefaultKeyPath) ? DefaultKeyPath : null, "none" => null, _ => keyFile };
        ClusterKey? key = null;
        if (path is not null)
        {
            string text;
            try
            {
                text = await File.ReadAllTextAsync(path, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"peerpatch-diag: cannot read the cluster key {path}: {e.Message}").ConfigureAwait(false);
                return 3;
            }

            if (!ClusterKey.TryParse(text.Trim(), out key, out var error))
            {
                await Console.Error.WriteLineAsync($"peerpatch-diag: {path}: {error}").ConfigureAwait(false);
                return 3;
            }
        }

        var url = new Uri(new Uri(server.Url), $"v1/policy/{verb}?patch={Uri.EscapeDataString(patch)}{(os is null ? string.Empty : "&os=" + Uri.EscapeDataString(os))}");
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", HttpSignature.Create(key, "POST", url.PathAndQuery, "diag", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RandomNumberGenerator.GetBytes(16)));
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        var answer = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            await Console.Error.WriteLineAsync($"peerpatch-diag: the server refused ({(int)response.StatusCode}): {LogText.Sanitize(answer.Trim())}").ConfigureAwait(false);
            return 1;
        }

        var reply = JsonSerializer.Deserialize(answer, StatusJsonContext.Default.PolicyReply);
        var version = reply?.Envelope is { } envelope && JsonDocument.Parse(envelope).RootElement.TryGetProperty("version", out var v) ? v.GetInt64() : -1;
        AnsiConsole.MarkupLine($"{Views.Esc(patch)}{(os is null ? string.Empty : " (" + Views.Esc(os) + ")")} {(verb == "approve" ? "approved" : "held")}: policy version {version}");
        return 0;
    }
}
