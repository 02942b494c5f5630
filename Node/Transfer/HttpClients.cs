using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Transfer;

/// <summary>Keys of the two HttpClients: the internet one (system proxy, bounded waits) and the LAN one (no proxy, short connect).</summary>
internal static class HttpClients
{
    public const string Internet = "internet";

    /// <summary>
    /// The internet client of the apt proxy's relay: the same bounds, but a 3xx goes back to apt, which follows it
    /// through the proxy again, where the relay policy judges the new target (a listed origin cannot bounce the relay
    /// to a LAN host or port that the policy refuses).
    /// </summary>
    public const string InternetRelay = "internet-relay";
    public const string Lan = "lan";

    /// <summary>
    /// The internet client of downloads paced to a rate cap (<see cref="RateLimitedStream"/>): the same bounds, and each
    /// connection's socket receive buffer sized to the request's <see cref="PacedRate"/> (<see cref="PacedReceiveBuffer"/>). Without
    /// that bound, Linux grows the buffer to megabytes while the reads are paced, and the upstream sends that far ahead
    /// of the cap. Its connections are not reused (one handshake per download), so no download inherits a window sized
    /// for another's rate; the buffer does not follow a rate that changes during the download (a renewal's new share):
    /// at the 64 KiB floor and a 100 ms round trip a download is held to about 1.3 MB/s.
    /// </summary>
    public const string InternetPaced = "internet-paced";

    /// <summary>The rate (bytes/s) a paced request is read at; sizes the receive buffer of the connection it opens.</summary>
    public static readonly HttpRequestOptionsKey<long> PacedRate = new("PeerPatch.PacedRate");

    /// <summary>
    /// A paced connection's receive buffer (SO_RCVBUF): an eighth of a second at its rate, within these bounds. Linux
    /// doubles the value for its bookkeeping, so the kernel holds about a quarter second: enough for the paced reads
    /// (a twentieth of a second each) and a long round trip, little for the upstream to run ahead by.
    /// </summary>
    public const int MinPacedReceiveBuffer = 64 * 1024;

    /// <inheritdoc cref="MinPacedReceiveBuffer"/>
    public const int MaxPacedReceiveBuffer = 4 * 1024 * 1024;

    /// <summary>The receive buffer for a connection read at <paramref name="bytesPerSecond"/>.</summary>
    public static int PacedReceiveBuffer(long bytesPerSecond) => (int)Math.Clamp(bytesPerSecond / 8, MinPacedReceiveBuffer, MaxPacedReceiveBuffer);

    /// <summary>Redirects followed per internet request (a loop ends here with the last 3xx answer). Browsers follow 20, curl 50.</summary>
    public const int MaxRedirects = 10;

    /// <summary>
    /// The one internet client: every request through it gets the connect, headers and body bounds of
    /// <see cref="InternetBoundsHandler"/>, whether or not the code that sends it remembers them.
    /// </summary>
    public static HttpClient CreateInternet(
        TransferOptions options,
        TimeProvider time,
        ILogger<InternetBoundsHandler> logger,
        string userAgent,
        Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect,
        bool followRedirects = true,
        bool paced = false)
    {
        var sockets = new SocketsHttpHandler
        {
            ConnectTimeout = options.InternetConnectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = paced ? TimeSpan.Zero : TimeSpan.FromMinutes(5), // a paced connection is sized for its first request's rate: never reused
            AllowAutoRedirect = followRedirects,
            MaxAutomaticRedirections = MaxRedirects,
        };
        if (paced)
        {
            sockets.ConnectCallback = (context, ct) => ConnectPacedAsync(context, connect, ct);
        }
        else if (connect is not null)
        {
            sockets.ConnectCallback = connect;
        }

        // A URL's user:password goes out as Basic auth (outermost: .NET itself ignores a URL's user info).
        return new HttpClient(new UrlCredentialsHandler(new InternetBoundsHandler(options, time, logger) { InnerHandler = sockets }))
        {
            Timeout = Timeout.InfiniteTimeSpan, // the handler bounds each phase; a whole-request limit would cut long downloads
            DefaultRequestHeaders = { { "User-Agent", userAgent } },
        };
    }

    /// <summary>
    /// A paced client's connection: the socket's receive buffer is set before connecting (so the window is small from
    /// the handshake on), or right after when an <see cref="IUpstreamConnector"/> opened it (Linux then stops
    /// advertising more than the new buffer holds).
    /// </summary>
    private static async ValueTask<Stream> ConnectPacedAsync(
        SocketsHttpConnectionContext context,
        Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect,
        CancellationToken ct)
    {
        var rate = context.InitialRequestMessage.Options.TryGetValue(PacedRate, out var r) ? r : 0;
        var buffer = PacedReceiveBuffer(rate);
        if (connect is not null)
        {
            var opened = await connect(context, ct).ConfigureAwait(false);
            if (opened is NetworkStream network)
            {
                network.Socket.ReceiveBufferSize = buffer;
            }

            return opened;
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = buffer };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
