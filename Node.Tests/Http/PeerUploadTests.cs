using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Http;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Security;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Http;

/// <summary>A node serving blobs to others: the piece list, the upload slots, and with a cluster key only to members.</summary>
[Trait("Category", "Network")]
public sealed class PeerUploadTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly TempDir _dir = new();
    private readonly HttpClient _open = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly List<InProcessNode> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _open.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task EveryHolderServesThePieceList_AndANodeWithoutTheBlobAnswers404()
    {
        var node = await StartAsync("n", new() { ["Role"] = "server" });
        var bytes = RandomNumberGenerator.GetBytes((9 << 20) + 5);
        var sha = await PutAsync(node, bytes);

        var list = await _open.GetFromJsonAsync(new Uri(node.Http, BlobUrl.PiecesOf(sha)), StatusJsonContext.Default.PieceList);

        Assert.NotNull(list);
        Assert.True(list.IsValidFor(sha, bytes.Length));
        Assert.Equal(PieceList.DefaultPieceSize, list.PieceSize);
        for (var i = 0; i < list.Pieces.Count; i++)
        {
            var at = i * list.PieceSize;
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(at, Math.Min(list.PieceSize, bytes.Length - at)))), list.Pieces[i]);
        }

        using var missing = await _open.GetAsync(new Uri(node.Http, BlobUrl.PiecesOf(new string('b', 64))));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var bad = await _open.GetAsync(new Uri(node.Http, BlobUrl.PiecesOf("nothex")));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task TheFifthConcurrentBlobGet_Gets503WithRetryAfter()
    {
        // A slow upload cap keeps the first four busy for long enough.
        // Every GET here comes from 127.0.0.1: no per-client share, so the total is what is tested.
        var node = await StartAsync("n", new() { ["Role"] = "server", ["UploadSlots"] = "4", ["UploadSlotsPerClient"] = "0", ["UploadRateLimit"] = "65536" });
        var bytes = RandomNumberGenerator.GetBytes(4 << 20);
        var sha = await PutAsync(node, bytes);
        var slots = node.Services.GetRequiredService<UploadSlots>();
        using var stop = new CancellationTokenSource(Bound);
        var running = Enumerable.Range(0, 4).Select(_ => _open.GetAsync(new Uri(node.Http, BlobUrl.PathOf(sha)), HttpCompletionOption.ResponseHeadersRead, stop.Token)).ToList();
        await WaitUntilAsync(() => slots.Busy == 4);

        using var fifth = await _open.GetAsync(new Uri(node.Http, BlobUrl.PathOf(sha)), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, fifth.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(UploadSlots.RetryAfterSeconds), fifth.Headers.RetryAfter?.Delta);
        Assert.Equal(1, node.Services.GetRequiredService<NodeStats>().UploadsBusy);
        using var head = new HttpRequestMessage(HttpMethod.Head, new Uri(node.Http, BlobUrl.PathOf(sha)));
        using var headResponse = await _open.SendAsync(head);
        Assert.Equal(HttpStatusCode.OK, headResponse.StatusCode); // a HEAD sends no bytes and needs no slot

        await stop.CancelAsync();
        foreach (var task in running)
        {
            try
            {
                (await task).Dispose();
            }
            catch (OperationCanceledException)
            {
                // cancelled while waiting for headers
            }
        }

        await WaitUntilAsync(() => slots.Busy == 0);
        using var again = await _open.GetAsync(new Uri(node.Http, BlobUrl.PiecesOf(sha)));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task OneClientAddress_TakesAtMostItsShareOfTheUploadSlots_AndOtherPcsAreServedMeanwhile()
    {
        // Defaults: 4 slots, 2 per client. The clients read only the headers, and a 32 MiB blob does not fit in the
        // sockets' buffers, so every GET keeps sending (its slot) for the whole test.
        var node = await StartAsync("n", new() { ["Role"] = "server" });
        var sha = await PutAsync(node, RandomNumberGenerator.GetBytes(32 << 20));
        var slots = node.Services.GetRequiredService<UploadSlots>();
        var stats = node.Services.GetRequiredService<NodeStats>();
        var url = new Uri(node.Http, BlobUrl.PathOf(sha));
        using var a = From("127.0.0.2");
        using var b = From("127.0.0.3");
        using var c = From("127.0.0.4");
        using var stopA = new CancellationTokenSource(Bound);
        using var stopB = new CancellationTokenSource(Bound);

        var fromA = new[] { await a.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, stopA.Token), await a.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, stopA.Token) };
        using var thirdFromA = await a.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);

        Assert.All(fromA, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, thirdFromA.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(UploadSlots.RetryAfterSeconds), thirdFromA.Headers.RetryAfter?.Delta);
        Assert.Equal((2, 2, 1, 1L), (slots.Busy, slots.HeldBy(IPAddress.Parse("127.0.0.2")), stats.UploadsBusy, stats.UploadsClientCapped));

        // Another PC still gets the two slots left; then every slot is taken, and a third PC is told so.
        var fromB = new[] { await b.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, stopB.Token), await b.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, stopB.Token) };
        using var fromC = await c.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);

        Assert.All(fromB, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, fromC.StatusCode);
        Assert.Equal((4, 2L, 1L), (slots.Busy, stats.UploadsBusy, stats.UploadsClientCapped));

        // The first PC lets go: its share is free again, for it or anyone.
        await stopA.CancelAsync();
        foreach (var r in fromA)
        {
            r.Dispose();
        }

        await WaitUntilAsync(() => slots.Busy == 2 && slots.HeldBy(IPAddress.Parse("127.0.0.2")) == 0);
        using var cAgain = await c.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, stopB.Token);
        Assert.Equal(HttpStatusCode.OK, cAgain.StatusCode);
        await stopB.CancelAsync();
        foreach (var r in fromB)
        {
            r.Dispose();
        }
    }

    [Fact]
    public async Task WithAClusterKey_ANodeWithoutItCanNeitherFetchFromAMember_NorBecomeASource()
    {
        var key = ClusterKey.Generate();
        var keyFile = _dir.Sub("cluster.key");
        ClusterKeyFile.Write(keyFile, key, force: false);
        var member = await StartAsync("m", new() { ["Role"] = "server", ["ClusterKeyFile"] = keyFile });
        var bytes = RandomNumberGenerator.GetBytes(300_000);
        var sha = await PutAsync(member, bytes);
        var memberLan = member.Services.GetRequiredKeyedService<HttpClient>(HttpClients.Lan);
        using var otherKeyClient = SignedWith(ClusterKey.Generate());
        var blob = new Uri(member.Http, BlobUrl.PathOf(sha));
        var stats = member.Services.GetRequiredService<NodeStats>();

        using (var unsigned = await _open.GetAsync(blob))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        }

        using (var wrongKey = await otherKeyClient.GetAsync(blob))
        {
            Assert.Equal(HttpStatusCode.Forbidden, wrongKey.StatusCode);
        }

        using (var pieces = await _open.GetAsync(new Uri(member.Http, BlobUrl.PiecesOf(sha))))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, pieces.StatusCode);
        }

        Assert.Equal(3, stats.BlobReadsRefused);
        Assert.Equal(bytes, await memberLan.GetByteArrayAsync(blob)); // a member's signed GET is served
        Assert.Equal(HttpStatusCode.OK, (await memberLan.GetAsync(new Uri(member.Http, BlobUrl.PiecesOf(sha)))).StatusCode);

        // Its inventory is refused, so the server never lists it as a source; a member's is accepted.
        var other = new string('c', 64);
        var sources = member.Services.GetRequiredService<SourceTable>();
        using (var refused = await otherKeyClient.SendAsync(Inventory(member, other, "nstranger")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var unsignedReport = await _open.SendAsync(Inventory(member, other, "nstranger")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unsignedReport.StatusCode);
        }

        Assert.False(sources.HasHolders(other));
        using (var accepted = await memberLan.SendAsync(Inventory(member, other, "nfriend")))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        Assert.True(sources.HasHolders(other));

        // Only a member says a blob is gone from it (evicted): a stranger cannot take a member's listing away.
        using (var refused = await _open.SendAsync(Inventory(member, other, "nfriend", gone: true)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        Assert.True(sources.HasHolders(other));
        using (var gone = await memberLan.SendAsync(Inventory(member, other, "nfriend", gone: true)))
        {
            Assert.Equal(HttpStatusCode.Accepted, gone.StatusCode);
        }

        Assert.False(sources.HasHolders(other));
    }

    [Fact]
    public async Task AFullInventoryThatLeavesABlobOut_EndsTheReportersListingOfIt_AnEmptyOneEndsAll()
    {
        var server = await StartAsync("s", new() { ["Role"] = "server" });
        var kept = await PutAsync(server, RandomNumberGenerator.GetBytes(3000));
        var evicted = await PutAsync(server, RandomNumberGenerator.GetBytes(3000));
        var sources = server.Services.GetRequiredService<SourceTable>();

        await ReportAsync(FullInventory(server, "nholder", kept, evicted));
        await ReportAsync(FullInventory(server, "nother", evicted));
        Assert.True(sources.HasHolders(kept) && sources.HasHolders(evicted));

        // nholder evicted a blob and its "gone" was lost: its next full report leaves the blob out.
        await ReportAsync(FullInventory(server, "nholder", kept));

        var now = server.Services.GetRequiredService<TimeProvider>().MonotonicNow();
        Assert.Equal(["nother"], sources.Rank(evicted, "asker", 8, now, new SystemRandomSource()).Select(s => s.NodeId));
        Assert.Equal(["nholder"], sources.Rank(kept, "asker", 8, now, new SystemRandomSource()).Select(s => s.NodeId));

        await ReportAsync(FullInventory(server, "nholder"));
        Assert.False(sources.HasHolders(kept));
        Assert.True(sources.HasHolders(evicted));

        async Task ReportAsync(HttpRequestMessage request)
        {
            using (request)
            using (var response = await _open.SendAsync(request))
            {
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            }
        }
    }

    [Fact]
    public async Task SourceFaultReports_UnlistTheAccusedForThatBlobOnly_OnceTwoKnownNodesSaySo()
    {
        var server = await StartAsync("s", new() { ["Role"] = "server" });
        var sha = await PutAsync(server, RandomNumberGenerator.GetBytes(3000));
        var other = await PutAsync(server, RandomNumberGenerator.GetBytes(3000));
        var sources = server.Services.GetRequiredService<SourceTable>();
        var time = server.Services.GetRequiredService<TimeProvider>();
        foreach (var (node, shas) in new[] { ("nbad", new[] { sha, other }), ("nholder", [sha]), ("nasker", [other]), ("nlate", [other]) })
        {
            using var request = FullInventory(server, node, shas);
            using var response = await _open.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        Assert.True(sources.AddLikely(sha, "nlate", time.MonotonicNow())); // handed a hit for sha a moment ago: 404 until its fetch begins

        Assert.Equal(0, await FaultsAsync("nasker", (sha, "nbad", SourceFault.BadBytes))); // one voice: not yet
        Assert.Equal(0, await FaultsAsync("nasker", (sha, "nbad", SourceFault.BadBytes))); // the same voice again
        Assert.Equal(0, await FaultsAsync("nstranger", (sha, "nbad", SourceFault.BadBytes))); // no session: not a voice
        Assert.Equal(0, await FaultsAsync("nbad", (sha, "nbad", SourceFault.BadBytes))); // about itself
        Assert.Equal(0, await FaultsAsync("nholder", (sha, "nbad", "stolen"), (sha, "../nbad", SourceFault.Gone), ("nothex", "nbad", SourceFault.Gone))); // malformed
        Assert.Equal(0, await FaultsAsync("nholder", (sha, "nlate", SourceFault.Gone), (sha, "nlate", SourceFault.Gone)));
        Assert.Equal(0, await FaultsAsync("nasker", (sha, "nlate", SourceFault.Gone))); // a likely holder's 404 proves nothing
        Assert.Equal(["nbad", "nholder", "nlate"], Holders(sha));

        Assert.Equal(1, await FaultsAsync("nholder", (sha, "nbad", SourceFault.BadBytes))); // a second node: off the list

        Assert.Equal(["nholder", "nlate"], Holders(sha)); // the accused is off that blob's list...
        Assert.Equal(["nasker", "nbad", "nlate"], Holders(other)); // ...and no other
        foreach (var body in new[] { "[{\"sha256\": ", "[null, 7, \"x\"]" })
        {
            using var garbage = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Http, "v1/sources/faults")) { Content = new StringContent(body) };
            garbage.Headers.Add(ApiHeaders.NodeId, "nasker");
            using var refused = await _open.SendAsync(garbage);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        using (var nulls = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Http, "v1/sources/faults")) { Content = new StringContent("[null, {}]") })
        {
            nulls.Headers.Add(ApiHeaders.NodeId, "nasker");
            using var skipped = await _open.SendAsync(nulls);
            Assert.Equal(HttpStatusCode.Accepted, skipped.StatusCode); // entries that say nothing are skipped, not a 500
        }

        using (var huge = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Http, "v1/sources/faults")) { Content = new ByteArrayContent(new byte[SourceFaultEndpoints.MaxBodyBytes + 1]) })
        {
            huge.Headers.Add(ApiHeaders.NodeId, "nasker");
            using var refused = await _open.SendAsync(huge);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        }

        // The accused stores the blob anew (or had a bad moment): its next report lists it again.
        using (var again = FullInventory(server, "nbad", sha, other))
        using (var response = await _open.SendAsync(again))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        Assert.Equal(["nbad", "nholder", "nlate"], Holders(sha));

        List<string> Holders(string blob) => [.. sources.Rank(blob, "asker", 8, time.MonotonicNow(), new SystemRandomSource()).Select(s => s.NodeId).Order(StringComparer.Ordinal)];

        async Task<int> FaultsAsync(string reporter, params (string Sha, string Node, string Kind)[] faults)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Http, "v1/sources/faults"))
            {
                Content = JsonContent.Create<IReadOnlyList<SourceFault>>([.. faults.Select(f => new SourceFault(f.Sha, f.Node, f.Kind))], StatusJsonContext.Default.IReadOnlyListSourceFault),
            };
            request.Headers.Add(ApiHeaders.NodeId, reporter);
            using var response = await _open.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("unlisted").GetInt32();
        }
    }

    private static HttpRequestMessage FullInventory(InProcessNode server, string nodeId, params string[] shas)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Http, "v1/inventory"))
        {
            Content = JsonContent.Create<IReadOnlyList<InventoryEntry>>([.. shas.Select((sha, i) => new InventoryEntry("test-1-amd64", $"KB{i}", sha, 3000, null))], StatusJsonContext.Default.IReadOnlyListInventoryEntry),
        };
        request.Headers.Add(ApiHeaders.NodeId, nodeId);
        request.Headers.Add(ApiHeaders.HttpPort, "50009");
        return request;
    }

    private static HttpRequestMessage Inventory(InProcessNode server, string sha, string nodeId, bool gone = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Http, gone ? "v1/inventory?gone=1" : "v1/inventory"))
        {
            Content = JsonContent.Create<IReadOnlyList<InventoryEntry>>([new InventoryEntry("test-1-amd64", "KB9", sha, 1000, null)], StatusJsonContext.Default.IReadOnlyListInventoryEntry),
        };
        request.Headers.Add(ApiHeaders.NodeId, nodeId);
        request.Headers.Add(ApiHeaders.HttpPort, "50009");
        return request;
    }

    /// <summary>A client whose connections come from <paramref name="address"/> (another PC on loopback).</summary>
    private static HttpClient From(string address) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    }) { Timeout = TimeSpan.FromSeconds(30) };

    private static HttpClient SignedWith(ClusterKey key) =>
        new(new SigningHandler(new ClusterAuth(key, new NodeIdentity("nstranger", "i", "test-1-amd64", "0.1.0"), TimeProvider.System), TimeProvider.System) { InnerHandler = new SocketsHttpHandler { UseProxy = false } })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };

    private async Task<InProcessNode> StartAsync(string name, Dictionary<string, string?> settings)
    {
        var node = await InProcessNode.StartAsync(_dir.Sub(name), TimeProvider.System, settings);
        _nodes.Add(node);
        return node;
    }

    private static async Task<string> PutAsync(InProcessNode node, byte[] bytes)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var store = node.Services.GetRequiredService<BlobStore>();
        Assert.True((await store.WriteAsync(new MemoryStream(bytes), sha, bytes.Length, long.MaxValue, default)).Succeeded);
        return sha;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < Bound, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
