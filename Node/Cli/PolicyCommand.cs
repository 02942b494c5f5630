using System.CommandLine;
using System.Text.Json;
using PeerPatch.Node.Policy;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Cli;

/// <summary>
/// `peerpatch policy set FILE | show | approve PATCH | hold PATCH`: the LAN's policy, through a node (this PC's by
/// default), which passes changes on to the LAN server. Writes are signed with the cluster key when there is one.
/// A refused document prints every problem and the old policy stays. Exit 0 done; 1 refused; 2 node or server unreachable.
/// </summary>
internal static class PolicyCommand
{
    public static Command Create()
    {
        var command = new Command("policy", "Set or show the LAN's policy (rings, holds, the internet budget); changes go to the LAN server.");
        command.Subcommands.Add(Set());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Rule("approve", "Approve a patch for every ring now (a new policy version)."));
        command.Subcommands.Add(Rule("hold", "Hold a patch everywhere, ring 0 included (a new policy version)."));
        return command;
    }

    private static Command Set()
    {
        var node = CliApp.NodeOption();
        var keyFile = CliApp.KeyFileOption();
        var file = new Argument<FileInfo>("FILE") { Description = "the policy document (JSON; see README, \"The LAN's policy\")" };
        var command = new Command("set", "Send a policy document to the LAN server; it becomes the next version unless it has problems.") { file, node, keyFile };
        command.SetAction(async (result, ct) =>
        {
            var path = result.GetValue(file)!;
            byte[] bytes;
            try
            {
                if (path.Length > PolicyParser.MaxBytes)
                {
                    await Console.Error.WriteLineAsync($"peerpatch: {path.FullName} is {path.Length} bytes; a policy may have at most {PolicyParser.MaxBytes}").ConfigureAwait(false);
                    return 1;
                }

                bytes = await File.ReadAllBytesAsync(path.FullName, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"peerpatch: cannot read {path.FullName}: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            // What can be checked here is checked here; the server checks the rest (patterns against the nodes it knows).
            if (!PolicyParser.TryParse(bytes, null, out _, out var errors))
            {
                return await RefusedAsync(errors, "the policy was not sent").ConfigureAwait(false);
            }

            return await SendAsync(result.GetValue(node)!, HttpMethod.Put, "v1/policy", bytes, result.GetValue(keyFile), ct).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Rule(string verb, string description)
    {
        var node = CliApp.NodeOption();
        var keyFile = CliApp.KeyFileOption();
        var patch = new Argument<string>("PATCH") { Description = "the patch name (or a glob: *, ?)" };
        var os = new Option<string?>("--os") { Description = "only for this OS key (e.g. debian-12-amd64)" };
        var command = new Command(verb, description) { patch, os, node, keyFile };
        command.SetAction((result, ct) =>
        {
            var query = $"?patch={Uri.EscapeDataString(result.GetValue(patch)!)}" + (result.GetValue(os) is { } k ? $"&os={Uri.EscapeDataString(k)}" : string.Empty);
            return SendAsync(result.GetValue(node)!, HttpMethod.Post, $"v1/policy/{verb}{query}", null, result.GetValue(keyFile), ct);
        });
        return command;
    }

    private static Command Show()
    {
        var node = CliApp.NodeOption();
        var json = CliApp.JsonOption("print the node's answer as is (envelope, seal, ring 0's record)");
        var command = new Command("show", "Show the policy in force (at the server, or this node's last known copy).") { node, json };
        command.SetAction(async (result, ct) =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
            try
            {
                var body = await http.GetByteArrayAsync(new Uri(new Uri(result.GetValue(node)!.TrimEnd('/') + "/"), "v1/policy"), ct).ConfigureAwait(false);
                if (result.GetValue(json))
                {
                    Console.WriteLine(System.Text.Encoding.UTF8.GetString(body));
                    return 0;
                }

                Print(JsonSerializer.Deserialize(body, StatusJsonContext.Default.PolicyReply));
                return 0;
            }
            catch (Exception e) when (e is HttpRequestException or UriFormatException or JsonException or TaskCanceledException)
            {
                await Console.Error.WriteLineAsync($"peerpatch: cannot read the policy: {e.Message}").ConfigureAwait(false);
                return 2;
            }
        });
        return command;
    }

    private static async Task<int> SendAsync(string node, HttpMethod method, string path, byte[]? body, string? keyFile, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(new Uri(node.TrimEnd('/') + "/"), path));
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            }

            if (!await UpdateCommand.SignAsync(request, keyFile).ConfigureAwait(false))
            {
                return 2;
            }

            using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
            var text = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            if (response.StatusCode == System.Net.HttpStatusCode.BadRequest)
            {
                var problems = Deserialize(text, StatusJsonContext.Default.PolicyProblems);
                return await RefusedAsync(problems?.Errors ?? [System.Text.Encoding.UTF8.GetString(text)], "the old policy stays").ConfigureAwait(false);
            }

            if (!response.IsSuccessStatusCode)
            {
                await Console.Error.WriteLineAsync($"peerpatch: {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(text).Trim()}").ConfigureAwait(false);
                return 2;
            }

            var reply = Deserialize(text, StatusJsonContext.Default.PolicyReply);
            var version = reply?.Envelope is { } e && PolicyEnvelope.TryParse(e, out var envelope, out _) ? envelope!.Version : -1;
            Console.WriteLine($"policy version {version} in force at the LAN server");
            return 0;
        }
        catch (Exception e) when (e is HttpRequestException or UriFormatException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"peerpatch: cannot reach the node: {e.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    private static void Print(PolicyReply? reply)
    {
        if (reply?.Envelope is not { } text || !PolicyEnvelope.TryParse(text, out var envelope, out var errors))
        {
            Console.WriteLine("no readable policy");
            return;
        }

        Console.WriteLine($"version {envelope!.Version}, set by {envelope.SetBy} at {envelope.SetAt:u}{(reply.Seal is null ? string.Empty : ", sealed")}");
        Console.WriteLine(text);
        foreach (var r in reply.Ring0 ?? [])
        {
            Console.WriteLine($"ring 0: {r.Os} {r.Patch}: {(r.FailedOn is { } f ? "failed on " + f : r.FirstApplied is { } at ? $"first applied {at:u}" : "-")}");
        }
    }

    private static async Task<int> RefusedAsync(IReadOnlyList<string> errors, string what)
    {
        await Console.Error.WriteLineAsync($"peerpatch: policy refused ({errors.Count} problem{(errors.Count == 1 ? string.Empty : "s")}); {what}:").ConfigureAwait(false);
        foreach (var error in errors)
        {
            await Console.Error.WriteLineAsync("  " + error).ConfigureAwait(false);
        }

        return 1;
    }

    private static T? Deserialize<T>(byte[] bytes, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(bytes, info);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
