using System.Collections.Concurrent;
using System.Net;

namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>
/// An in-memory web (the internet, or the LAN's blob URLs) behind an <see cref="HttpClient"/>: each URL answers with
/// the responses a test scripts (the last one repeats), anything else is a 404; requests are counted per URL.
/// </summary>
internal sealed class FakeWeb : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, Func<HttpResponseMessage>[]> _routes = new();
    private readonly ConcurrentDictionary<string, int> _requests = new();

    private readonly ConcurrentDictionary<string, byte[]> _ranged = new();

    public HttpClient Client() => new(this, disposeHandler: false);

    /// <summary>Serves <paramref name="body"/> at <paramref name="url"/> honouring a single Range (206), as a node's blob endpoint does.</summary>
    public void ServeRanged(Uri url, byte[] body) => _ranged[url.AbsoluteUri] = body;

    /// <summary>The i-th request to <paramref name="url"/> gets the i-th response (the last one repeats).</summary>
    public void Serve(Uri url, params Func<HttpResponseMessage>[] responses) => _routes[url.AbsoluteUri] = responses;

    public void Serve(Uri url, byte[] body) => Serve(url, () => Body(body));

    public int Requests(Uri url) => _requests.GetValueOrDefault(url.AbsoluteUri);

    public int TotalRequests => _requests.Values.Sum();

    public static HttpResponseMessage Body(byte[] body, long? declaredLength = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentLength = declaredLength ?? body.Length;
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    public static HttpResponseMessage Streamed(Stream body, long declaredLength)
    {
        var content = new StreamContent(body);
        content.Headers.ContentLength = declaredLength;
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    public static HttpResponseMessage Status(HttpStatusCode status) => new(status) { Content = new ByteArrayContent([]) };

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var key = request.RequestUri!.AbsoluteUri;
        var n = _requests.AddOrUpdate(key, 1, (_, c) => c + 1);
        if (_ranged.TryGetValue(key, out var ranged) && request.Headers.Range?.Ranges.FirstOrDefault() is { From: { } from } range)
        {
            var to = Math.Min(range.To ?? (ranged.Length - 1), ranged.Length - 1);
            var content = new ByteArrayContent(ranged, (int)from, (int)(to - from + 1));
            content.Headers.ContentRange = new System.Net.Http.Headers.ContentRangeHeaderValue(from, to, ranged.Length);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = content, RequestMessage = request });
        }

        if (_ranged.TryGetValue(key, out var whole))
        {
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(whole), RequestMessage = request });
        }

        var response = _routes.TryGetValue(key, out var script) ? script[Math.Min(n, script.Length) - 1]() : Status(HttpStatusCode.NotFound);
        response.RequestMessage = request;
        return Task.FromResult(response);
    }
}
