using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>One request a <see cref="HostileSource"/> received: its request line's target, its headers and its Range (when any).</summary>
internal sealed record HostileRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers, long? From, long? To)
{
    public bool IsPieceList => Target.EndsWith("/pieces", StringComparison.Ordinal);
}

/// <summary>
/// A LAN "source" on 127.0.0.1 that speaks raw HTTP/1.1 over TCP, so that it can lie in ways Kestrel would not let
/// it: a Content-Range for other bytes, more bytes than its Content-Length, a chunked body without end, a drip, a
/// reset, redirects, huge headers. Each request (one per connection: it always closes) is answered by the handler.
/// </summary>
internal sealed class HostileSource : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<HostileRequest, NetworkStream, CancellationToken, Task> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accepting;

    public HostileSource(Func<HostileRequest, NetworkStream, CancellationToken, Task> handler)
    {
        _handler = handler;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public ConcurrentQueue<HostileRequest> Requests { get; } = new();

    public int PieceRequests => Requests.Count(r => !r.IsPieceList);

    public Uri BlobUrl(string sha256) => new($"http://127.0.0.1:{Port}/v1/blobs/{sha256}");

    public static Task WriteAsync(Stream s, string text, CancellationToken ct) => s.WriteAsync(Encoding.ASCII.GetBytes(text), ct).AsTask();

    /// <summary>A status line and headers (the blank line included), Connection: close added.</summary>
    public static Task HeadAsync(Stream s, string status, CancellationToken ct, params string[] headers) =>
        WriteAsync(s, $"HTTP/1.1 {status}\r\n{string.Concat(headers.Select(h => h + "\r\n"))}Connection: close\r\n\r\n", ct);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _connections.Add(ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var head = new StringBuilder();
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && head.Length < 16_384)
            {
                if (await stream.ReadAsync(one, _stop.Token) == 0)
                {
                    return;
                }

                head.Append((char)one[0]);
            }

            var lines = head.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var parts = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
            }

            long? from = null, to = null;
            if (headers.TryGetValue("Range", out var range) && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                var ends = range["bytes=".Length..].Split('-');
                from = long.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture);
                to = ends[1].Length > 0 ? long.Parse(ends[1], System.Globalization.CultureInfo.InvariantCulture) : null;
            }

            var request = new HostileRequest(parts[0], parts[1], headers, from, to);
            Requests.Enqueue(request);
            await _handler(request, stream, _stop.Token);
            await stream.FlushAsync(_stop.Token);
            client.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // The client went away, or the handler reset the connection on purpose.
        }
    }

    /// <summary>Cuts the connection with a TCP RST (linger 0).</summary>
    public static void Reset(NetworkStream stream)
    {
        stream.Socket.LingerState = new LingerOption(true, 0);
        stream.Socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }
}
