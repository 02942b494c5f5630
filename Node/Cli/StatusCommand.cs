using System.CommandLine;
using System.Text.Json;

namespace PeerPatch.Node.Cli;

/// <summary>`peerpatch status`: a node's identity, role, server, store and counters.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var node = CliApp.NodeOption();
        var json = CliApp.JsonOption("print the node's /v1/status JSON");
        var command = new Command("status", "Show a node's status.") { node, json };
        command.SetAction(async (result, ct) =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            string body;
            try
            {
                body = await http.GetStringAsync(new Uri(new Uri(result.GetValue(node)!.TrimEnd('/') + "/"), "v1/status"), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or UriFormatException or TaskCanceledException)
            {
                await Console.Error.WriteLineAsync($"peerpatch: cannot reach the node: {e.Message}").ConfigureAwait(false);
                return 2;
            }

            if (result.GetValue(json))
            {
                Console.WriteLine(body);
                return 0;
            }

            using var doc = JsonDocument.Parse(body);
            var s = doc.RootElement;
            var stats = s.GetProperty("stats");
            var blobs = s.GetProperty("blobs");
            Console.WriteLine($"node      {s.GetProperty("nodeId").GetString()} (v{s.GetProperty("version").GetString()}, up {s.GetProperty("uptimeSeconds").GetInt64()} s)");
            Console.WriteLine($"role      {s.GetProperty("role").GetString()}; server: {s.GetProperty("server").GetString() ?? "none"}");
            Console.WriteLine($"os        {s.GetProperty("os").GetString()}");
            Console.WriteLine($"database  {s.GetProperty("patches").GetInt64()} patches; {blobs.GetProperty("count").GetInt32()} blobs, {UpdateCommand.Bytes(blobs.GetProperty("bytes").GetInt64())} of {UpdateCommand.Bytes(blobs.GetProperty("capacityBytes").GetInt64())}");
            Console.WriteLine($"traffic   LAN served {UpdateCommand.Bytes(stats.GetProperty("lanBytesServed").GetInt64())}, LAN fetched {UpdateCommand.Bytes(stats.GetProperty("lanBytesFetched").GetInt64())}, internet {UpdateCommand.Bytes(stats.GetProperty("internetBytes").GetInt64())}");
            Console.WriteLine($"lookups   {stats.GetProperty("hits").GetInt64()} hits, {stats.GetProperty("misses").GetInt64()} misses; pushes {stats.GetProperty("pushesAccepted").GetInt64()} accepted, {stats.GetProperty("pushesRejected").GetInt64()} rejected");
            return 0;
        });
        return command;
    }
}
