using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// A blob GET holds one of the node's upload slots (default 4) while it sends. A client that stops reading (a PC asleep
/// mid-download, a slowloris) must not keep it: found by an outside probe, where four readers that read the status
/// line and nothing more kept every other GET at 503 for more than 10 minutes (Kestrel's MinResponseDataRate credits
/// the bytes already in the socket buffers, so it fires only after hours). <c>UploadStallTimeout</c> bounds it; a
/// client that reads slowly but steadily is not cut.
/// </summary>
[Trait("Category", "Network")]
public sealed class UploadStallTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task ReadersThatStopReading_LoseTheirUploadSlotsAfterTheStallBound_ButASlowSteadyReaderIsNotCut()
    {
        using var dir = new TempDir();
        await using var node = await NodeProcess.StartWithConfigAsync("server", dir.Sub("server"), $"{{\"UploadStallTimeout\":\"{Stall:c}\"}}", "--role", "server");
        var bytes = RandomNumberGenerator.GetBytes(32 << 20); // far more than the socket buffers hold
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using (var content = new ByteArrayContent(bytes))
        using (var push = await http.PutAsync(new Uri(node.Http, $"v1/blobs/{sha}?os=test-1-amd64&name=KB1"), content))
        {
            Assert.Equal(HttpStatusCode.Created, push.StatusCode);
        }

        var sockets = new List<Socket>();
        try
        {
            // A slow but steady reader first (64 KiB every 50 ms), then two raw GETs that read the status line and stop,
            // each from its own PC (one address holds at most UploadSlotsPerClient, 2, of the 4 slots).
            var slow = await OpenGetAsync("127.0.0.2", sha, node.HttpPort, sockets, receiveBuffer: 256 << 10);
            for (var i = 0; i < 2; i++)
            {
                await OpenGetAsync($"127.0.0.{3 + i}", sha, node.HttpPort, sockets, receiveBuffer: 4096);
            }

            using var busy = await http.GetAsync(new Uri(node.Http, $"v1/blobs/{sha}"), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, busy.StatusCode); // the fourth slot; never read either
            using var stalled = await busy.Content.ReadAsStreamAsync();

            var slowRead = 0L;
            var watch = Stopwatch.StartNew();
            var statuses = new List<HttpStatusCode>();
            HttpStatusCode last = 0;
            TimeSpan? servedAgain = null;
            var buffer = new byte[64 << 10];
            while (watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                for (var t = Stopwatch.StartNew(); t.Elapsed < TimeSpan.FromSeconds(1);)
                {
                    var n = await slow.ReceiveAsync(buffer);
                    Assert.True(n > 0, $"the slow, steady reader was cut after {slowRead} bytes");
                    slowRead += n;
                    await Task.Delay(50);
                }

                using var probe = new HttpRequestMessage(HttpMethod.Get, new Uri(node.Http, $"v1/blobs/{sha}"));
                probe.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 1023);
                using var response = await http.SendAsync(probe);
                last = response.StatusCode;
                statuses.Add(last);
                servedAgain ??= last == HttpStatusCode.PartialContent ? watch.Elapsed : null;
                if (last == HttpStatusCode.PartialContent && watch.Elapsed > Stall * 2)
                {
                    break; // served again, and the slow reader has outlived two stall bounds
                }
            }

            output.WriteLine($"after {watch.Elapsed.TotalSeconds:0.0} s: {string.Join(" ", statuses.Select(s => (int)s))}; served again after {servedAgain?.TotalSeconds:0.0} s; the slow reader took {slowRead} bytes");
            Assert.Equal(HttpStatusCode.PartialContent, last);
            Assert.True(servedAgain < Stall + TimeSpan.FromSeconds(5), $"another PC was served again only after {servedAgain?.TotalSeconds:0.0} s");
            Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses); // the slots were all taken at first
            Assert.True(slowRead > 1 << 20, $"the slow reader took only {slowRead} bytes");
            var aborted = node.Output.Split('\n').Count(l => l.Contains("took no bytes", StringComparison.Ordinal));
            Assert.Equal(2 + 1, aborted); // the two raw readers and the HttpClient one; not the slow reader
            Assert.False(node.HasExited);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    /// <summary>A raw GET from <paramref name="from"/> (another PC on loopback), read up to the status line.</summary>
    private static async Task<Socket> OpenGetAsync(string from, string sha, int port, List<Socket> sockets, int receiveBuffer)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = receiveBuffer };
        sockets.Add(socket);
        socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /v1/blobs/{sha} HTTP/1.1\r\nHost: x\r\n\r\n"));
        var head = new byte[12];
        var read = 0;
        while (read < head.Length)
        {
            read += await socket.ReceiveAsync(head.AsMemory(read));
        }

        Assert.Equal("HTTP/1.1 200", Encoding.ASCII.GetString(head));
        return socket;
    }
}
