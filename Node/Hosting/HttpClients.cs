using System.Net;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Hosting;

/// <summary>Keys of the two HttpClients: the internet one (system proxy, bounded waits) and the LAN one (no proxy, short connect).</summary>
internal static class HttpClients
{
    public const string Internet = "internet";
    public const string Lan = "lan";

    /// <summary>Redirects followed per internet request (a loop ends here with the last 3xx answer). Browsers follow 20, curl 50.</summary>
    public const int MaxRedirects = 10;

    /// <summary>
    /// The one internet client: every request through it gets the connect, headers and body bounds of
    /// <see cref="InternetBoundsHandler"/>, whether or not the code that sends it remembers them.
    /// </summary>
    public static HttpClient CreateInternet(
        NodeOptions options,
        TimeProvider time,
        ILogger<InternetBoundsHandler> logger,
        string userAgent,
        Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect)
    {
        var sockets = new SocketsHttpHandler
        {
            ConnectTimeout = options.InternetConnectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxAutomaticRedirections = MaxRedirects,
        };
        if (connect is not null)
        {
            sockets.ConnectCallback = connect;
        }

        return new HttpClient(new InternetBoundsHandler(options, time, logger) { InnerHandler = sockets })
        {
            Timeout = Timeout.InfiniteTimeSpan, // the handler bounds each phase; a whole-request limit would cut long downloads
            DefaultRequestHeaders = { { "User-Agent", userAgent } },
        };
    }
}
