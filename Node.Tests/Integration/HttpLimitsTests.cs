using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>Issue 5: one HTTP client cannot starve a node: per-address connection cap, header limits and timeouts.</summary>
[Trait("Category", "Network")]
public sealed class HttpLimitsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ASlowlorisHoldingHundredsOfConnections_IsCappedAndTimedOut_WhileOtherClientsAreServed()
    // Half the connections send half a request, half send nothing at all.
    {
        using var dir = new TempDir();
        await using var node = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        var attacker = IPAddress.Parse("127.0.0.2"); // another address on loopback: another "PC"
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < 200; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(attacker, 0));
                sockets.Add(socket);
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, node.HttpPort);
                    if (i % 2 == 0)
                    {
                        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")); // never finished
                    }
                }
                catch (SocketException)
                {
                    // already closed by the node: counted below
                }
            }

            // The node closes what is over the cap at once: wait for that (bounded), then count exactly.
            for (var wait = Stopwatch.StartNew(); sockets.Count(IsClosed) < 200 - 64 && wait.Elapsed < TimeSpan.FromSeconds(5); await Task.Delay(50))
            {
            }

            await Task.Delay(200); // and a moment more, so a node that closed too many is caught
            var closedAtOnce = sockets.Count(IsClosed);

            // Meanwhile another client is served, and a request with 64 KB of headers is refused, not buffered.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var watch = Stopwatch.StartNew();
            using var ok = await http.GetAsync(new Uri(node.Http, "v1/status"));
            var servedIn = watch.Elapsed;
            using var big = new HttpRequestMessage(HttpMethod.Get, new Uri(node.Http, "v1/status"));
            big.Headers.TryAddWithoutValidation("X-Big", new string('a', 64 * 1024));
            using var refused = await http.SendAsync(big);

            // The capped survivors are cut when their headers are 10 s late.
            var cut = Stopwatch.StartNew();
            while (sockets.Count(IsClosed) < sockets.Count && cut.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(250);
            }

            var closedLater = sockets.Count(IsClosed);
            output.WriteLine($"200 slow connections from {attacker}: {closedAtOnce} closed at once (cap 64), all {closedLater} closed {cut.Elapsed.TotalSeconds + 1:0.0} s after opening; another client served in {servedIn.TotalMilliseconds:0} ms; 64 KB of headers: {(int)refused.StatusCode}");
            Assert.Equal(200 - 64, closedAtOnce);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, refused.StatusCode);
            Assert.Equal(200, closedLater);
            Assert.False(node.HasExited);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    /// <summary>True once the node closed the connection (whatever it sent first, e.g. a 408, is read and dropped).</summary>
    private static bool IsClosed(Socket socket)
    {
        try
        {
            var buffer = new byte[4096];
            while (socket.Poll(0, SelectMode.SelectRead))
            {
                if (socket.Receive(buffer) == 0)
                {
                    return true;
                }
            }

            return false;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }
}
