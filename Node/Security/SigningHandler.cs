using System.Collections.Concurrent;

namespace PeerPatch.Node.Security;

/// <summary>
/// Signs this node's LAN HTTP requests with the cluster key: writes, and reads too (a keyed LAN serves blobs and
/// pieces only to members, so a fetch from a peer must prove membership). The signature's time
/// follows the receiver's clock, learned from each of its responses' Date header, so two PCs whose clocks disagree
/// still talk; a 401 for skew is answered with its Date too, and the next write is right.
/// </summary>
internal sealed class SigningHandler(ClusterAuth auth, TimeProvider time) : DelegatingHandler
{
    private readonly ConcurrentDictionary<string, TimeSpan> _offsets = new(StringComparer.OrdinalIgnoreCase);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        if (auth.Keyed)
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
