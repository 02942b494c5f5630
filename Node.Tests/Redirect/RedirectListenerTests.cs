using System.Net;
using System.Net.Sockets;
using System.Text;
using PeerPatch.Node.Http;
using PeerPatch.Node.Redirect;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Redirect;

/// <summary>
/// Port 80 for redirected domains is a TCP relay to the node's HTTP port: the per-client connection cap
/// (<see cref="HttpOptions.MaxConnectionsPerClient"/>) must still be per PC, not one budget that every PC behind the
/// relay shares. An in-process node on a loopback address of its own; "PCs" are other loopback source addresses.
/// </summary>
[Trait("Category", "Network")]
public sealed class RedirectListenerTests
{
    private const string Domain = "updates.probe.test";

    [RootFact] // the redirect listener needs port 80
    public async Task OnePcHoldingItsConnectionCapOnPort80_DoesNotLockOtherPcsOut()
    {
        var node = IPAddress.Parse("127.0.80.11");
        using var dir = new TempDir();
        var hosts = dir.Sub("hosts");
        await File.WriteAllTextAsync(hosts, $"# BEGIN peerpatch redirect\n{node} {Domain}\n# END peerpatch redirect\n");
        await using var app = await InProcessNode.StartAsync(dir.Sub("node"), TimeProvider.System, new Dictionary<string, string?>
        {
            [nameof(RedirectOptions.HostsFile)] = hosts,
            [nameof(RedirectOptions.RedirectPort)] = "80",
            [nameof(HttpOptions.MaxConnectionsPerClient)] = "8",
            ["Bind"] = node.ToString(),
            ["Role"] = "server",
        });
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); !await AnswersAsync(IPAddress.Parse("127.0.80.13"), node); await Task.Delay(50))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(15), "the redirect listener on port 80 within 15 s");
        }

        // One PC (a download manager, a slowloris) opens its 8 connections to port 80 and keeps them: each has had an
        // answer (so the relay carried it on to the HTTP port) and stays open (keep-alive).
        var held = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var c = new TcpClient(new IPEndPoint(IPAddress.Parse("127.0.80.12"), 0));
                held.Add(c);
                await c.ConnectAsync(node, 80);
                await c.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /v1/status HTTP/1.1\r\nHost: status.probe.test\r\n\r\n"));
                var buffer = new byte[512];
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                var n = await c.GetStream().ReadAsync(buffer, timeout.Token);
                Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
            }

            // Another PC asks for a page of the node: it must get its answer.
            var answered = 0;
            for (var i = 0; i < 5; i++)
            {
                answered += await AnswersAsync(IPAddress.Parse("127.0.80.13"), node) ? 1 : 0;
            }

            Assert.True(answered == 5, $"another PC got {answered} of 5 answers while one PC held its {held.Count} connections");
        }
        finally
        {
            held.ForEach(c => c.Dispose());
        }
    }

    /// <summary>True when a GET of /v1/status sent from <paramref name="from"/> to port 80 gets an HTTP answer.</summary>
    private static async Task<bool> AnswersAsync(IPAddress from, IPAddress node)
    {
        try
        {
            using var client = new TcpClient(new IPEndPoint(from, 0));
            await client.ConnectAsync(node, 80);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /v1/status HTTP/1.1\r\nHost: status.probe.test\r\nConnection: close\r\n\r\n"));
            using var reader = new StreamReader(stream);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return (await reader.ReadLineAsync(timeout.Token))?.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) == true;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
