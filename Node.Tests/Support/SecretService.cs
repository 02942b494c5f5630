using System.Net;
using System.Net.Sockets;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// A service that only this machine may reach (a firewall hides it from the LAN): it answers any connection with
/// "secret" and counts them, so a test can prove that a relay or a cache never reached it.
/// </summary>
internal sealed class SecretService : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(2));
    private int _reached;

    public SecretService(IPAddress bind)
    {
        _listener = new TcpListener(bind, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(AnswerAsync);
    }

    public int Port { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Reached => Volatile.Read(ref _reached);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _stop.Dispose();
    }

    private async Task AnswerAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var c = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _reached);
                await c.GetStream().WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret"u8.ToArray(), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // stopped, or a client that left
        }
    }
}
