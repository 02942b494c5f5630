using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Apt;

namespace PeerPatch.Node.Apt;

/// <summary>
/// HTTPS through the apt proxy: "CONNECT host:443 HTTP/1.1" opens a TCP tunnel and bytes pass untouched (PeerPatch
/// neither sees nor caches them). Kestrel hands CONNECT requests to the app without a way to take the raw
/// connection, so this is Kestrel connection middleware: it peeks at the first line without consuming it, and any
/// other request goes on to HTTP as usual. Only the HTTPS origins apt's sources or the admin list are tunnelled to,
/// never this machine (<see cref="AptRelayPolicy"/>), so the node is not an open relay to arbitrary services; the
/// address is checked once more after resolution, just before connecting. A tunnel in which no byte moves either way
/// for InternetStallTimeout is closed.
/// </summary>
internal sealed partial class ConnectTunnel(AptRelayPolicy policy, TransferOptions transfer, NodeStats stats, TimeProvider time, ILogger<ConnectTunnel> logger)
{
    private const int MaxHead = 8 * 1024;

    /// <summary>A connection that has not sent its first line by then is closed (Kestrel's header timeout starts after the peek).</summary>
    private static readonly TimeSpan FirstLineTimeout = TimeSpan.FromSeconds(10);
    private static readonly byte[] Connect = "CONNECT "u8.ToArray();

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var input = connection.Transport.Input;
        // Only the timeout cancels the peek: a client that sent its request and hung up still has it read (the read
        // then reports completion with the bytes), as Kestrel would. Cancelling on ConnectionClosed dropped such a
        // request unprocessed and logged an unhandled exception (seen as a flaky DataPlaneTests cut-short push).
        using var silent = new CancellationTokenSource(FirstLineTimeout, time);
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(silent.Token).ConfigureAwait(false);
            }
            catch (IOException)
            {
                return; // reset by the peer before a request: nothing to answer
            }
            catch (OperationCanceledException) when (silent.IsCancellationRequested)
            {
                connection.Abort(new ConnectionAbortedException($"no request within {FirstLineTimeout.TotalSeconds:0} s"));
                return;
            }

            var buffer = read.Buffer;
            var isConnect = StartsWith(buffer, Connect, out var decided);
            if (decided && !isConnect)
            {
                input.AdvanceTo(buffer.Start); // nothing consumed: Kestrel parses it
                await next(connection).ConfigureAwait(false);
                return;
            }

            if (decided && FindHeadEnd(buffer) is { } end)
            {
                var head = Encoding.ASCII.GetString(buffer.Slice(0, end));
                input.AdvanceTo(buffer.GetPosition(end));
                await TunnelAsync(connection, head).ConfigureAwait(false);
                return;
            }

            if (read.IsCompleted || buffer.Length > MaxHead)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                await next(connection).ConfigureAwait(false); // let Kestrel answer the malformed or oversized head
                return;
            }

            input.AdvanceTo(buffer.Start, buffer.End); // examined all, need more
        }
    }

    private async Task TunnelAsync(ConnectionContext connection, string head)
    {
        var output = connection.Transport.Output;
        var parts = head.Split(' ', 3);
        var target = parts.Length > 1 ? parts[1] : string.Empty;
        var client = (connection.RemoteEndPoint as System.Net.IPEndPoint)?.Address?.ToString() ?? "?";
        var refusal = RelayRefusal.NotListed;
        var (host, port) = (string.Empty, 0);
        var admin = false;
        if (target.Contains(':', StringComparison.Ordinal) && ArchiveUrl.TryParseAuthority(target, 0, out host, out port) && port != 0)
        {
            (refusal, admin) = await policy.CheckAsync(new RelayEndpoint("https", host, port), null, connection.ConnectionClosed).ConfigureAwait(false);
        }

        if (refusal != RelayRefusal.None)
        {
            Log.Refused(logger, AptProxy.Printable(target), client, refusal);
            stats.ProxyRefusal(AptProxy.ReasonLabel(refusal));
            await output.WriteAsync("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray()).ConfigureAwait(false);
            return;
        }

        host = host.Trim('[', ']');
        using var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            var addresses = await System.Net.Dns.GetHostAddressesAsync(host, timeout.Token).ConfigureAwait(false);
            if (!admin && addresses.Any(policy.Local.IsThisMachine))
            {
                throw new SocketException((int)SocketError.AccessDenied); // resolved differently since the check
            }

            await upstream.ConnectAsync(addresses, port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            Log.Unreachable(logger, target, e.Message);
            await output.WriteAsync("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray()).ConfigureAwait(false);
            return;
        }

        await output.WriteAsync("HTTP/1.1 200 Connection Established\r\n\r\n"u8.ToArray()).ConfigureAwait(false);
        Log.Tunnel(logger, target);
        await using var stream = new NetworkStream(upstream, ownsSocket: false);
        var activity = new Activity(time);
        using var tunnel = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        using var clientSide = CancellationTokenSource.CreateLinkedTokenSource(tunnel.Token);
        var up = CopyAsync(connection.Transport.Input.AsStream(), stream, upstream, countAsInternet: false, activity, clientSide.Token);
        var down = CopyAsync(stream, connection.Transport.Output.AsStream(), null, countAsInternet: true, activity, tunnel.Token);
        var idle = CloseWhenIdleAsync(activity, tunnel, target);
        if (await Task.WhenAny(up, down).ConfigureAwait(false) == down)
        {
            // The origin closed (or the tunnel sat idle): close the client's side too (it sees the end), and stop reading from it.
            await connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
            await clientSide.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(up, down).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await tunnel.CancelAsync().ConfigureAwait(false);
        await idle.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// Ends the tunnel once no byte has moved either way for <see cref="TransferOptions.InternetStallTimeout"/> (the
    /// bound of every internet wait): a silent client and a silent origin would otherwise hold it forever.
    /// </summary>
    private async Task CloseWhenIdleAsync(Activity activity, CancellationTokenSource tunnel, string target)
    {
        var stall = transfer.InternetStallTimeout;
        using var timer = new PeriodicTimer(stall / 4 > TimeSpan.Zero ? stall / 4 : TimeSpan.FromMilliseconds(1), time);
        while (await timer.WaitForNextTickAsync(tunnel.Token).ConfigureAwait(false))
        {
            if (time.GetElapsedTime(activity.Last) >= stall)
            {
                Log.Idle(logger, target, stall.TotalSeconds);
                await tunnel.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    /// <param name="toSocket">The upstream socket when copying towards it (its send side is shut when the client is done).</param>
    private async Task CopyAsync(Stream from, Stream to, Socket? toSocket, bool countAsInternet, Activity activity, CancellationToken ct)
    {
        try
        {
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await from.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                activity.Touch();
                if (countAsInternet)
                {
                    stats.AddInternetBytes(n);
                }

                await to.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                await to.FlushAsync(ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // either side closed
        }
        finally
        {
            try
            {
                toSocket?.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }
        }
    }

    /// <summary>When a byte last moved through a tunnel, either way.</summary>
    private sealed class Activity(TimeProvider time)
    {
        private long _last = time.GetTimestamp();

        public long Last => Volatile.Read(ref _last);

        public void Touch() => Volatile.Write(ref _last, time.GetTimestamp());
    }

    private static bool StartsWith(ReadOnlySequence<byte> buffer, byte[] prefix, out bool decided)
    {
        var n = (int)Math.Min(buffer.Length, prefix.Length);
        Span<byte> head = stackalloc byte[prefix.Length];
        buffer.Slice(0, n).CopyTo(head);
        var matches = head[..n].SequenceEqual(prefix.AsSpan(0, n));
        decided = !matches || n == prefix.Length;
        return matches && n == prefix.Length;
    }

    private static long? FindHeadEnd(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8, advancePastDelimiter: true) ? reader.Consumed : null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 840, Level = LogLevel.Information, Message = "CONNECT tunnel to {Target}")]
        public static partial void Tunnel(ILogger logger, string target);

        [LoggerMessage(EventId = 841, Level = LogLevel.Warning, Message = "CONNECT to {Target} from {Client} refused (403): {Reason}")]
        public static partial void Refused(ILogger logger, string target, string client, RelayRefusal reason);

        [LoggerMessage(EventId = 842, Level = LogLevel.Warning, Message = "CONNECT to {Target} failed: {Error}")]
        public static partial void Unreachable(ILogger logger, string target, string error);

        [LoggerMessage(EventId = 843, Level = LogLevel.Information, Message = "CONNECT tunnel to {Target} closed: no byte either way for {Seconds} s (InternetStallTimeout)")]
        public static partial void Idle(ILogger logger, string target, double seconds);
    }
}
