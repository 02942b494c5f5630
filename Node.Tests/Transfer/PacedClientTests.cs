using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>The paced client sizes each connection's receive buffer for the rate of the request that opens it, and never reuses one for another rate (review16 found pooled reuse).</summary>
[Trait("Category", "Network")]
public sealed class PacedClientTests
{
    [Fact]
    public async Task ARequestAtAMuchHigherRate_DoesNotReuseAConnectionSizedForALowRate()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var serving = ServeKeepAliveAsync(listener, stop.Token);
        var sockets = new List<Socket>();
        using var client = HttpClients.CreateInternet(
            new TransferOptions(),
            TimeProvider.System,
            NullLogger<InternetBoundsHandler>.Instance,
            "test",
            async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(IPAddress.Loopback, port, ct);
                lock (sockets)
                {
                    sockets.Add(socket);
                }

                return new NetworkStream(socket, ownsSocket: true);
            },
            paced: true);

        var buffers = new List<int>();
        foreach (var rate in new long[] { 100_000, 20_000_000 })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{port}/patch.bin"));
            request.Options.Set(HttpClients.PacedRate, rate);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            lock (sockets)
            {
                buffers.Add(sockets[^1].ReceiveBufferSize); // the connection this request was answered on (the last one opened)
            }

            await response.Content.ReadAsByteArrayAsync();
        }

        await stop.CancelAsync();
        // 20 MB/s asks for 2.5 MB (Linux reports twice that); a reused 100 KB/s connection has 64 KB (128 KB reported).
        Assert.Equal(2, sockets.Count);
        Assert.True(buffers[^1] >= HttpClients.PacedReceiveBuffer(20_000_000), $"{sockets.Count} connection(s); the 20 MB/s request read through a {buffers[^1]}-byte receive buffer");
        Assert.True(buffers[0] < HttpClients.PacedReceiveBuffer(20_000_000), $"the 100 KB/s request's connection has {buffers[0]} bytes");
        _ = serving;
    }

    private static async Task ServeKeepAliveAsync(TcpListener listener, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var accepted = await listener.AcceptTcpClientAsync(ct);
                _ = Task.Run(async () =>
                {
                    using var connection = accepted;
                    var stream = connection.GetStream();
                    var buffer = new byte[8192];
                    var seen = new StringBuilder();
                    while (!ct.IsCancellationRequested)
                    {
                        var read = await stream.ReadAsync(buffer, ct);
                        if (read == 0)
                        {
                            return;
                        }

                        seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
                        while (seen.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal) is var end and >= 0)
                        {
                            seen.Remove(0, end + 4);
                            await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), ct);
                        }
                    }
                }, ct);
            }
        }
        catch (OperationCanceledException)
        {
            // the test ended
        }
    }
}
