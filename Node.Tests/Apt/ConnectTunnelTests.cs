using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PeerPatch.Node.Apt;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Tests.Apt;

/// <summary>
/// A CONNECT tunnel through the apt proxy is bounded like every internet wait (STYLE 20): one in which no byte moves
/// either way for <see cref="TransferOptions.InternetStallTimeout"/> is closed. Before, a client and an origin that
/// both fell silent held the tunnel, its two sockets and its tasks for as long as either side cared (seen open after
/// 400 s), and a stopping node waited for it until the host's shutdown timeout.
/// </summary>
[Trait("Category", "Network")]
public sealed class ConnectTunnelTests
{
    [Fact]
    public async Task ATunnelWhereNothingMoves_IsClosedAfterTheStallBound()
    {
        using var origin = new TcpListener(IPAddress.Loopback, 0); // a listed HTTPS origin that accepts and says nothing
        origin.Start();
        var port = ((IPEndPoint)origin.LocalEndpoint).Port;
        using var dir = new TempDir();
        await using var node = await InProcessNode.StartAsync(dir.Sub("node"), TimeProvider.System, new Dictionary<string, string?>
        {
            [nameof(AptOptions.AptUpstreams) + ":0"] = $"127.0.0.1:{port}",
            [nameof(AptOptions.AptSourcesDir)] = dir.Sub("no-apt"),
            [nameof(TransferOptions.InternetStallTimeout)] = "00:00:02",
            ["Role"] = "server",
        });

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, node.Http.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"));
        using var upstream = await origin.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(15));
        var buffer = new byte[256];
        using (var head = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            var n = await stream.ReadAsync(buffer, head.Token);
            Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
        }

        // Neither side sends a byte: the tunnel must end (the client reads its end) well within 20 s.
        var idle = Stopwatch.StartNew();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            var n = await stream.ReadAsync(buffer, bound.Token);
            Assert.Equal(0, n);
        }
        catch (IOException)
        {
            // reset: ended too
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the idle tunnel was still open after {idle.Elapsed.TotalSeconds:0} s (stall bound 2 s)");
        }

        Assert.True(idle.Elapsed < TimeSpan.FromSeconds(15), $"closed after {idle.Elapsed.TotalSeconds:0.0} s");
    }
}
