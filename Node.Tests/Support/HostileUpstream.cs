using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PeerPatch.Node.Tests.Support;

/// <summary>How <see cref="HostileUpstream"/> answers a request; the first path segment picks it.</summary>
public enum HostileMode
{
    /// <summary>Reads the request, then sends nothing, holding the connection open.</summary>
    StallBeforeHeaders,

    /// <summary>Headers with Content-Length 100000, 22 body bytes, then nothing (the connection stays open).</summary>
    StallMidBody,

    /// <summary>Headers with Content-Length 100000, 22 body bytes, then the connection is closed.</summary>
    Truncated,

    /// <summary>Reads the request, then resets the connection (RST) before any answer.</summary>
    Reset,

    /// <summary>302 to the same path with a growing query, forever.</summary>
    EndlessRedirect,

    /// <summary>Headers with Content-Length 100000, then one body byte every <see cref="HostileUpstream.TrickleInterval"/>.</summary>
    Slowloris,
}

/// <summary>
/// An upstream that fails in a chosen way, on a raw TCP listener on 127.0.0.1 (so every byte and its timing is
/// under control): http://127.0.0.1:PORT/{mode}/anything. Counts requests and notes when the client gives up.
/// </summary>
internal sealed class HostileUpstream : IAsyncDisposable
{
    public const int DeclaredLength = 100_000;

    /// <summary>22 bytes: the start of a feed document.</summary>
    public static readonly byte[] Prefix = Encoding.ASCII.GetBytes("{\"os\":\"test-1-amd64\",\"");

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accepting;
    private int _requests;
    private int _open;

    public HostileUpstream()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Gap between two body bytes in <see cref="HostileMode.Slowloris"/>. Default 1 s.</summary>
    public TimeSpan TrickleInterval { get; set; } = TimeSpan.FromSeconds(1);

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Connections still open (the client has not given up on them).</summary>
    public int Open => Volatile.Read(ref _open);

    public Uri Url(HostileMode mode, string rest) => new($"http://127.0.0.1:{Port}/{mode}/{rest}");

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAll([.. _connections, _accepting]).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _connections.Add(ServeAsync(client));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // stopped
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        Interlocked.Increment(ref _open);
        try
        {
            using (client)
            {
                var stream = client.GetStream();
                while (await ReadRequestAsync(stream) is { } path)
                {
                    Interlocked.Increment(ref _requests);
                    var segment = path.TrimStart('/').Split('/', '?')[0];
                    var mode = Enum.Parse<HostileMode>(segment);
                    if (!await AnswerAsync(client, stream, mode, path))
                    {
                        return;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // the client gave up, or we stopped
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>Answers one request; false when the connection is done.</summary>
    private async Task<bool> AnswerAsync(TcpClient client, NetworkStream stream, HostileMode mode, string path)
    {
        var ct = _stop.Token;
        var head = $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {DeclaredLength}\r\n\r\n";
        switch (mode)
        {
            case HostileMode.StallBeforeHeaders:
                await WaitForCloseAsync(stream, ct);
                return false;

            case HostileMode.Reset:
                client.Client.LingerState = new LingerOption(true, 0);
                client.Client.Close();
                return false;

            case HostileMode.EndlessRedirect:
                var n = path.Contains("?n=", StringComparison.Ordinal) ? int.Parse(path[(path.IndexOf("?n=", StringComparison.Ordinal) + 3)..], System.Globalization.CultureInfo.InvariantCulture) : 0;
                var location = path.Split('?')[0] + "?n=" + (n + 1);
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"), ct);
                return true;

            case HostileMode.Slowloris:
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
                for (var i = 0; i < DeclaredLength; i++)
                {
                    await stream.WriteAsync(Prefix.AsMemory(i % Prefix.Length, 1), ct);
                    await Task.Delay(TrickleInterval, ct);
                }

                return false;

            default:
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
                await stream.WriteAsync(Prefix, ct);
                await stream.FlushAsync(ct);
                if (mode == HostileMode.StallMidBody)
                {
                    await WaitForCloseAsync(stream, ct);
                }

                return false; // Truncated: closing now cuts the body short
        }
    }

    /// <summary>Holds the connection until the client closes it (a read of 0) or the upstream stops.</summary>
    private static async Task WaitForCloseAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[1024];
        while (await stream.ReadAsync(buffer, ct) > 0)
        {
        }
    }

    /// <summary>The request's path, or null when the client closed the connection first.</summary>
    private async Task<string?> ReadRequestAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var buffer = new byte[1];
        while (head.Length < 64 * 1024)
        {
            if (await stream.ReadAsync(buffer, _stop.Token) == 0)
            {
                return null;
            }

            head.Append((char)buffer[0]);
            if (head.Length >= 4 && head[^1] == '\n' && head.ToString(head.Length - 4, 4) == "\r\n\r\n")
            {
                var target = head.ToString().Split(' ')[1];
                return Uri.TryCreate(target, UriKind.Absolute, out var absolute) ? absolute.PathAndQuery : target; // a proxied request names the whole URL
            }
        }

        return null;
    }
}
