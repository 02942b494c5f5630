using System.Net;
using System.Text;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Tests.Sources;

/// <summary>
/// The feed request is tried again only when it got no connection (the feed host was not reached); any answer, or a
/// failure after the connection, is the source's error at once.
/// </summary>
public sealed class ManifestFeedSourceTests
{
    private const string Os = "debian-12-amd64";
    private const string Feed = """{"os":"debian-12-amd64","patches":[{"name":"A","url":"http://h/a","sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":1,"apply":{"command":"/bin/true"}}]}""";

    [Fact]
    public async Task AFeedThatGotNoConnection_IsAskedAgain_AndItsAnswerIsUsed()
    {
        var handler = new ScriptedHandler(ConnectionFailure, ConnectionFailure, () => Answer(HttpStatusCode.OK, Feed));
        using var http = new HttpClient(handler);

        var patches = await new ManifestFeedSource("http://feed.test/{os}.json", http, long.MaxValue).GetPatchesAsync(Os, CancellationToken.None);

        Assert.Equal("A", Assert.Single(patches).Name);
        Assert.Equal(3, handler.Requests);
    }

    [Fact]
    public async Task AFeedNeverReached_FailsAfterThreeTries_SayingSo()
    {
        var handler = new ScriptedHandler(ConnectionFailure);
        using var http = new HttpClient(handler);

        var e = await Assert.ThrowsAsync<PatchSourceException>(() => new ManifestFeedSource("http://feed.test/{os}.json", http, long.MaxValue).GetPatchesAsync(Os, CancellationToken.None));

        Assert.Equal(ManifestFeedSource.ConnectAttempts, handler.Requests);
        Assert.Contains("no connection", e.Message, StringComparison.Ordinal);
        Assert.Contains("(tried 3 times)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAnswerOrAFailureAfterTheConnection_IsNotAskedAgain()
    {
        foreach (var failure in new Func<HttpResponseMessage>[] { () => Answer(HttpStatusCode.ServiceUnavailable, ""), () => throw new HttpRequestException(HttpRequestError.ResponseEnded, "response ended prematurely") })
        {
            var handler = new ScriptedHandler(failure, () => Answer(HttpStatusCode.OK, Feed));
            using var http = new HttpClient(handler);

            await Assert.ThrowsAsync<PatchSourceException>(() => new ManifestFeedSource("http://feed.test/{os}.json", http, long.MaxValue).GetPatchesAsync(Os, CancellationToken.None));
            Assert.Equal(1, handler.Requests);
        }
    }

    private static HttpResponseMessage ConnectionFailure() => throw new HttpRequestException(HttpRequestError.ConnectionError, "no connection within 15 s", new TimeoutException("no connection within 15 s"));

    private static HttpResponseMessage Answer(HttpStatusCode status, string body) => new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    /// <summary>The i-th request gets the i-th step (the last repeats); a step may throw.</summary>
    private sealed class ScriptedHandler(params Func<HttpResponseMessage>[] steps) : HttpMessageHandler
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _requests);
            return Task.FromResult(steps[Math.Min(n, steps.Length) - 1]());
        }
    }
}
