using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Http;
using PeerPatch.Storage;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>
/// A LAN holder whose copy went bad (bit rot on its disk, a lying peer) is reported by the PCs it sends a bad piece to,
/// and the server stops listing it for that blob once two have: nodes hosted in this process (a server and a client, their
/// real LAN transport, HTTP and reporters), the holder a fake on loopback that serves wrong bytes for every piece.
/// </summary>
[Trait("Category", "Network")]
public sealed class SourceFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Size = (8 << 20) + 77; // 9 pieces of 1 MiB
    private readonly TempDir _dir = new();
    private readonly List<InProcessNode> _nodes = [];
    private FakeInternet _internet = null!;
    private FakeSources _bad = null!;

    public async Task InitializeAsync()
    {
        _internet = await FakeInternet.StartAsync();
        _bad = await FakeSources.StartAsync(1);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _bad.DisposeAsync();
        await _internet.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task AHolderServingBadPieces_IsReportedByThePcsItServed_AndTheServerStopsListingItForThatBlob()
    {
        _internet.AddFile("kb.bin", Size, seed: 4711);
        _internet.SetFeed(Lan.Os, [("KB-ROT", "kb.bin")]);
        var server = await StartAsync("server", null);
        Assert.Equal(1, (await server.Services.GetRequiredService<UpdateRunner>().RunAsync(null, false, CancellationToken.None))!.Applied); // the server holds it
        var sha = Assert.Single(server.Services.GetRequiredService<PatchDatabase>().ListPatches()).Sha256;

        // A PC that reported holding it serves wrong bytes for every piece (a copy that rotted on its disk).
        using (var http = new HttpClient())
        {
            _bad.BadPiece = -1;
            _bad.Set(await http.GetByteArrayAsync(BlobUrl.On(server.Http, sha)), 1 << 20, SourceMode.BadPiece);
        }

        var holder = _bad.List()[0].BlobUrl;
        var sources = server.Services.GetRequiredService<SourceTable>();
        var time = server.Services.GetRequiredService<TimeProvider>();
        Assert.True(sources.AddHolder(sha, "nrotten", new Uri(holder.GetLeftPart(UriPartial.Authority) + "/"), time.MonotonicNow()));

        // Two PCs, one after the other: each meets the bad copy, drops it and tells the server; the second voice takes
        // it off the blob's list (one PC with bad memory, whose pieces fail against everyone, cannot empty the lists).
        foreach (var (name, listedAfter) in new[] { ("pc1", true), ("pc2", false) })
        {
            var client = await StartAsync(name, server.ServerAddress);
            var summary = await client.Services.GetRequiredService<UpdateRunner>().RunAsync(null, false, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
            output.WriteLine(client.Log);

            Assert.Equal((1, 0), (summary!.Applied, summary.Failed)); // from the server, after the bad holder was dropped
            Assert.Contains("bad piece", client.Log, StringComparison.Ordinal); // it was asked, and caught (else the test proves nothing)
            await Eventually.TrueAsync(() => client.Services.GetRequiredService<SourceFaultReporter>().Delivered == 1, $"{name} did not tell the server");
            Assert.Equal(listedAfter, Listed(sha).Contains("nrotten"));
        }

        Assert.Equal(1, _internet.Requests("kb.bin")); // only the server's own download
        Assert.Contains("no longer listed", server.Log, StringComparison.Ordinal);

        List<string> Listed(string blob) => [.. sources.Rank(blob, "nobody", 8, time.MonotonicNow(), new SystemRandomSource()).Select(s => s.NodeId)];
    }

    private async Task<InProcessNode> StartAsync(string name, string? server)
    {
        var settings = new Dictionary<string, string?>
        {
            [nameof(ClusterOptions.Role)] = server is null ? "server" : "client",
            [nameof(ClusterOptions.Discovery)] = "false",
            [$"{nameof(SourcesOptions.Sources)}:0"] = "manifest:" + _internet.FeedUrlTemplate,
        };
        if (server is not null)
        {
            settings[nameof(ClusterOptions.Server)] = server;
        }

        var node = await InProcessNode.StartAsync(_dir.Sub(name), TimeProvider.System, settings);
        _nodes.Add(node);
        return node;
    }
}
