using System.Collections.Concurrent;

namespace PeerPatch.Node.Security;

/// <summary>
/// Signs every LAN HTTP request of this node with the cluster key (when there is one): writes (which need it
/// everywhere, <see cref="WriteAuthorization"/>) and reads (blob GETs and piece lists need it, <see cref="ReadAuthorization"/>).
/// It sits in the LAN HttpClient (<c>HttpClients.Lan</c>), so every LAN fetch path signs alike. The signature's time
/// follows the receiver's clock, learned from each of its responses' Date header, so two PCs whose clocks disagree
/// still talk; a 401 for skew is answered with its Date too, and the next write is right.
/// </summary>
internal sealed class SigningHandler(ClusterAuth auth, TimeProvider time) : DelegatingHandler
{
    private readonly ConcurrentDictionary<string, TimeSpan> _offsets = new(StringComparer.OrdinalIgnoreCase);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        if (auth.Keyed && !request.Headers.Contains("Authorization"))
        {
            var offset = _offsets.GetValueOrDefault(uri.Authority);
            request.Headers.TryAddWithoutValidation("Authorization", auth.Sign(request.Method.Method, uri.PathAndQuery, time.GetUtcNow() + offset));
        }

        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.Headers.Date is { } date)
        {
            // Date has 1 s resolution: only offsets beyond a few seconds matter against a 10-minute window.
            var measured = date - time.GetUtcNow();
            _offsets[uri.Authority] = measured.Duration() > TimeSpan.FromSeconds(5) ? measured : TimeSpan.Zero;
        }

        return response;
    }
}
