using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Tests.Security;

/// <summary>
/// With a cluster key, every LAN request is signed, reads too (peers serve blobs and pieces only to members); an open
/// LAN signs nothing.
/// </summary>
public sealed class SigningHandlerTests
{
    private static readonly NodeIdentity Self = new("node-a", "instance-a", "test-1-amd64", "test");

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    [InlineData("PUT")]
    public async Task WithAKey_EveryRequestCarriesAValidSignature(string method)
    {
        var key = ClusterKey.Generate();
        var recorder = new Recorder(new FakeWeb());
        using var http = new HttpClient(new SigningHandler(new ClusterAuth(key, Self, TimeProvider.System), TimeProvider.System) { InnerHandler = recorder });
        var url = new Uri("http://peer-b:47471/v1/blobs/" + new string('a', 64));

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));

        var header = Assert.Single(recorder.Seen).Headers.Authorization?.ToString();
        Assert.True(HttpSignature.TryVerify(key, method, url.PathAndQuery, header, out var claims, out var error), error);
        Assert.Equal("node-a", claims.NodeId);
    }

    [Fact]
    public async Task WithoutAKey_NothingIsSigned()
    {
        var recorder = new Recorder(new FakeWeb());
        using var http = new HttpClient(new SigningHandler(new ClusterAuth(null, Self, TimeProvider.System), TimeProvider.System) { InnerHandler = recorder });

        using var response = await http.GetAsync(new Uri("http://peer-b:47471/v1/blobs/" + new string('b', 64)));

        Assert.Null(Assert.Single(recorder.Seen).Headers.Authorization);
    }

    /// <summary>Keeps what it was sent, then answers as the fake web does.</summary>
    private sealed class Recorder(FakeWeb web) : DelegatingHandler(web)
    {
        public List<HttpRequestMessage> Seen { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Seen.Add(request);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
