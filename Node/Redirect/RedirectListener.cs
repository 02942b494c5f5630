using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Redirect;

/// <summary>
/// Port 80 (<see cref="RedirectOptions.RedirectPort"/>) while the hosts file redirects a domain: each connection is
/// relayed, bytes as they are, to this node's own HTTP port, where the Host header picks the transparent cache.
/// A plain TCP relay rather than a second Kestrel endpoint, so the node opens port 80 only while a redirect is
/// active and keeps running when another program holds the port (it logs why). Each relayed connection is noted in
/// <see cref="RelayedClients"/>, so the HTTP port's per-client cap counts the PC, not the relay.
/// </summary>
internal sealed partial class RedirectListener(RedirectTable table, RedirectOptions options, CoreOptions core, HttpEndpointInfo http, RelayedClients relayed, ILogger<RedirectListener> logger) : BackgroundService
{
    private readonly SemaphoreSlim _changed = new(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.RedirectPort <= 0)
        {
            return;
        }

        table.Changed += OnChanged;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (table.Any)
                {
                    using var active = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    var serving = ServeAsync(active.Token);
                    while (table.Any)
                    {
                        await _changed.WaitAsync(stoppingToken).ConfigureAwait(false);
                    }

                    await active.CancelAsync().ConfigureAwait(false);
                    await serving.ConfigureAwait(false);
                }
                else
                {
                    await _changed.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            table.Changed -= OnChanged;
        }
    }

    private void OnChanged() => _changed.Release();

    private async Task ServeAsync(CancellationToken ct)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(IPAddress.Parse(core.Bind), options.RedirectPort));
            listener.Listen(512);
        }
        catch (SocketException e)
        {
            Log.CannotListen(logger, options.RedirectPort, e.Message);
            return;
        }

        Log.Listening(logger, options.RedirectPort);
        try
        {
            while (true)
            {
                var client = await listener.AcceptAsync(ct).ConfigureAwait(false);
                _ = RelayAsync(client, ct);
            }
        }
        catch (OperationCanceledException)
        {
            Log.Stopped(logger, options.RedirectPort);
        }
    }

    private async Task RelayAsync(Socket client, CancellationToken ct)
    {
        using (client)
        using (var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            IPEndPoint? relaySide = null;
            try
            {
                var target = IPAddress.Parse(core.Bind) is { } bind && !bind.Equals(IPAddress.Any) ? bind : IPAddress.Loopback;
                // Bound first, so the HTTP side can tell whose connection this is the moment it arrives (its per-client cap).
                upstream.Bind(new IPEndPoint(target, 0));
                relaySide = (IPEndPoint)upstream.LocalEndPoint!;
                relayed.Add(relaySide, ((IPEndPoint)client.RemoteEndPoint!).Address);
                await upstream.ConnectAsync(new IPEndPoint(target, http.Port), ct).ConfigureAwait(false);
                await using var a = new NetworkStream(client, ownsSocket: false);
                await using var b = new NetworkStream(upstream, ownsSocket: false);
                var up = PumpAsync(a, b, upstream, ct);
                var down = PumpAsync(b, a, client, ct);
                await Task.WhenAll(up, down).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                // one connection's trouble ends that connection only
            }
            finally
            {
                if (relaySide is not null)
                {
                    relayed.Remove(relaySide);
                }
            }
        }
    }

    private static async Task PumpAsync(Stream from, Stream to, Socket toSocket, CancellationToken ct)
    {
        try
        {
            await from.CopyToAsync(to, 64 * 1024, ct).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                toSocket.Shutdown(SocketShutdown.Send); // pass the half-close on
            }
            catch (SocketException)
            {
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 822, Level = LogLevel.Information, Message = "answering redirected domains on port {Port}")]
        public static partial void Listening(ILogger logger, int port);

        [LoggerMessage(EventId = 823, Level = LogLevel.Error, Message = "cannot listen on port {Port} for redirected domains: {Error}; they will not be answered")]
        public static partial void CannotListen(ILogger logger, int port, string error);

        [LoggerMessage(EventId = 824, Level = LogLevel.Information, Message = "no redirected domains: port {Port} closed")]
        public static partial void Stopped(ILogger logger, int port);
    }
}
