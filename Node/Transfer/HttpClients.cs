using System.Net;
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
        bool followRedirects = true)
    {
        var sockets = new SocketsHttpHandler
        {
            ConnectTimeout = options.InternetConnectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AllowAutoRedirect = followRedirects,
            MaxAutomaticRedirections = MaxRedirects,
        };
        if (connect is not null)
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
}
