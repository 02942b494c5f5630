using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// The bounds on every internet request, whatever code sends it (feeds, patch downloads, the apt proxy, the redirect
/// cache): response headers within <see cref="TransferOptions.InternetHeadersTimeout"/> (connecting and redirects
/// included; the connection itself within <see cref="TransferOptions.InternetConnectTimeout"/>, set on the handler
/// below), and a body wrapped in <see cref="IdleTimeoutStream"/> (<see cref="TransferOptions.InternetStallTimeout"/>,
/// <see cref="TransferOptions.InternetMinBytesPerSecond"/>). A timeout before the headers is an
/// <see cref="HttpRequestException"/> (what every caller already handles), one in the body a
/// <see cref="TimeoutException"/> from the read; each is logged with the URL (without credentials), the phase and the bound.
/// </summary>
internal sealed partial class InternetBoundsHandler(TransferOptions options, TimeProvider time, ILogger<InternetBoundsHandler> logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var method = request.Method.Method;
        var url = WithoutCredentials(request.RequestUri); // before redirects change it
        using var headers = new CancellationTokenSource(options.InternetHeadersTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, headers.Token);
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && headers.IsCancellationRequested
                                  && e is OperationCanceledException or HttpRequestException or IOException)
        {
            var bound = options.InternetHeadersTimeout.TotalSeconds;
            Log.Timeout(logger, "headers", method, url, bound, "no response headers");
            throw new HttpRequestException($"no response headers within {bound:0.###} s", new TimeoutException($"no response headers within {bound:0.###} s"));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && (e is OperationCanceledException || e.GetBaseException() is TimeoutException))
        {
            // Neither the caller nor the headers bound cancelled: the handler's ConnectTimeout did.
            var bound = options.InternetConnectTimeout.TotalSeconds;
            Log.Timeout(logger, "connect", method, url, bound, "no connection");
            throw new HttpRequestException(HttpRequestError.ConnectionError, $"no connection within {bound:0.###} s", new TimeoutException($"no connection within {bound:0.###} s"));
        }

        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var window = options.InternetStallTimeout;
            var minBytes = (long)Math.Min(long.MaxValue / 2, options.InternetMinBytesPerSecond * window.TotalSeconds);
            var guarded = new StreamContent(new IdleTimeoutStream(body, window, time, minBytes, e => Log.Timeout(logger, "body", method, url, window.TotalSeconds, e.Message)));
            foreach (var (name, values) in response.Content.Headers)
            {
                guarded.Headers.TryAddWithoutValidation(name, values);
            }

            response.Content = guarded;
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>The URL as it may be logged: without user:password@.</summary>
    internal static string WithoutCredentials(Uri? url) => url switch
    {
        null => "(no URL)",
        { IsAbsoluteUri: true, UserInfo.Length: > 0 } => new UriBuilder(url) { UserName = string.Empty, Password = string.Empty }.Uri.ToString(),
        _ => url.ToString(),
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 460, Level = LogLevel.Warning, Message = "internet {Phase} timeout: {Method} {Url} waited {Bound:0.###} s: {Detail}")]
        public static partial void Timeout(ILogger logger, string phase, string method, string url, double bound, string detail);
    }
}
