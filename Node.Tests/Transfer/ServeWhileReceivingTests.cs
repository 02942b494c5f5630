using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Http;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>
/// Serve while receiving: a node (hosted in this process, its real blob endpoint) that is still fetching a blob by
/// pieces serves the pieces it verified to another client, and answers 503 + Retry-After for the rest.
/// </summary>
[Trait("Category", "Network")]
public sealed class ServeWhileReceivingTests : IAsyncLifetime
{
    private const int Piece = 64 * 1024;
    private readonly TempDir _dir = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private InProcessNode _node = null!;
    private FakeSources _sources = null!;

    public async Task InitializeAsync()
    {
        _sources = await FakeSources.StartAsync(1);
        _node = await InProcessNode.StartAsync(_dir.Sub("node"), TimeProvider.System, new Dictionary<string, string?> { ["Role"] = "server", ["LanStallTimeout"] = "00:00:30" });
    }

    public async Task DisposeAsync()
    {
        await _sources.DisposeAsync();
        await _node.DisposeAsync();
        _http.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task ASecondClient_GetsVerifiedPiecesFromANodeStillFetching()
    {
        // The node's only source hands out the first three pieces asked at once and the rest only when the gate opens.
        _sources.GateFrom = 3;
        _sources.Set(SwarmRig.Bytes(8 * Piece, 11), Piece, SourceMode.Gated);
        var fetcher = _node.Services.GetRequiredService<SwarmFetcher>();
        var partials = _node.Services.GetRequiredService<PartialBlobs>();
        var nodeFetch = fetcher.FetchAsync(_sources.List(), Piece, SwarmRig.Record(_sources.Sha256, 8 * Piece), null, CancellationToken.None);
        await Eventually.TrueAsync(() => partials.Find(_sources.Sha256)?.VerifiedCount >= 3, "the node verified its first three pieces");
        var partial = partials.Find(_sources.Sha256)!;
        var have = Enumerable.Range(0, 8).First(partial.IsVerified);
        var lack = Enumerable.Range(0, 8).First(p => !partial.IsVerified(p));
        var bitfield = PieceBitfield.Format(8, partial.IsVerified);

        // While it waits for the rest: a verified range is served (206, right bytes), others and whole GETs are 503.
        var blob = BlobUrl.On(_node.Http, _sources.Sha256);
        var stats = _node.Services.GetRequiredService<PeerPatch.Node.Primitives.NodeStats>();
        var servedBefore = stats.BytesServedAsServer; // this node is the LAN server
        using (var ranged = new HttpRequestMessage(HttpMethod.Get, blob) { Headers = { Range = new RangeHeaderValue(have * Piece, ((have + 1) * Piece) - 1) } })
        using (var response = await _http.SendAsync(ranged))
        {
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(_sources.Content.AsSpan(have * Piece, Piece).ToArray(), await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(bitfield, Assert.Single(response.Headers.GetValues(ApiHeaders.PiecesHeld))); // what else it has
        }

        Assert.Equal(Piece, stats.BytesServedAsServer - servedBefore); // counted as every blob upload is (server or peer)

        using (var unverified = new HttpRequestMessage(HttpMethod.Get, blob) { Headers = { Range = new RangeHeaderValue(lack * Piece, ((lack + 1) * Piece) - 1) } })
        using (var response = await _http.SendAsync(unverified))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
            Assert.True(PieceBitfield.TryParse(Assert.Single(response.Headers.GetValues(ApiHeaders.PiecesHeld)), 8, out var held));
            Assert.Equal(3, held.Count(h => h));
            Assert.True(held[have] && !held[lack]);
        }

        using (var whole = await _http.GetAsync(blob))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, whole.StatusCode);
        }

        // A second client whose only source is that node: its list and first pieces come while the node still fetches.
        using var client = new SwarmRig(TimeSpan.FromSeconds(30));
        var progress = new ByteProgress();
        var clientFetch = client.FetchAsync([new SwarmSource("node-partial", blob, false)], Piece, _sources.Sha256, 8 * Piece, progress);
        await Eventually.TrueAsync(() => progress.Value >= 3 * Piece, "the client verified the node's first three pieces");
        Assert.False(nodeFetch.IsCompleted);
        Assert.False(clientFetch.IsCompleted);

        _sources.OpenGate();
        var nodeResult = await nodeFetch.WaitAsync(TimeSpan.FromSeconds(60));
        var clientResult = await clientFetch.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(nodeResult.Ok, nodeResult.Error);
        Assert.True(clientResult.Ok, clientResult.Error);
        Assert.Equal(_sources.Sha256, client.StoredSha(_sources.Sha256));
        Assert.Null(partials.Find(_sources.Sha256)); // the entry went away with the fetch
    }
}
