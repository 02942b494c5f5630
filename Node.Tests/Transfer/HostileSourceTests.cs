using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>
/// The fetching side of the LAN against a source that lies at the HTTP level (raw TCP, <see cref="HostileSource"/>):
/// ranges that do not match, bodies longer than announced or without end, drips, resets, redirects, huge headers,
/// piece lists that contradict, odd Retry-After. Driven through the node's own LAN HttpClient (as AddTransfer makes it).
/// </summary>
[Trait("Category", "Network")]
public sealed class HostileSourceTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const int Piece = 64 * 1024;
    private static readonly NodeIdentity Self = new("node-self", "instance-self", "test-1-amd64", "test");
    private ServiceProvider _services = ProductionServices(null);
    private FakeSources _good = null!;
    private readonly TempDir _dir = new();

    public async Task InitializeAsync() => _good = await FakeSources.StartAsync(2);

    public async Task DisposeAsync() => await _good.DisposeAsync();

    public void Dispose()
    {
        _services.Dispose();
        _dir.Dispose();
    }

    /// <summary>The node's own keyed LAN HttpClient (signing handler, sockets handler as configured in production).</summary>
    private HttpClient LanClient => _services.GetRequiredKeyedService<HttpClient>(HttpClients.Lan);

    private static ServiceProvider ProductionServices(PeerPatch.Protocol.Security.ClusterKey? key)
    {
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(Self);
        services.AddSingleton(new ClusterAuth(key, Self, TimeProvider.System));
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddTransfer(new TransferOptions());
        return services.BuildServiceProvider();
    }

    private (SwarmFetcher Fetcher, BlobStore Store, NodeStats Stats, ListLogger<SwarmFetcher> Log) Swarm(TimeSpan stall)
    {
        var db = PatchDatabase.Open(_dir.Sub($"db-{Guid.NewGuid():N}"));
        var store = new BlobStore(_dir.Sub($"store-{Guid.NewGuid():N}"), db, new BlobStoreOptions { ReserveFreeBytes = 0 }, TimeProvider.System);
        store.RecoverAtStartup();
        var stats = new NodeStats();
        var log = new ListLogger<SwarmFetcher>();
        var options = new TransferOptions { LanStallTimeout = stall };
        return (new SwarmFetcher(LanClient, store, new PartialBlobs(), Self, options, stats, TimeProvider.System, new SystemRandomSource(), log), store, stats, log);
    }

    private (LanFetcher Fetcher, BlobStore Store) Whole(TimeSpan stall)
    {
        var db = PatchDatabase.Open(_dir.Sub($"db-{Guid.NewGuid():N}"));
        var store = new BlobStore(_dir.Sub($"store-{Guid.NewGuid():N}"), db, new BlobStoreOptions { ReserveFreeBytes = 0 }, TimeProvider.System);
        store.RecoverAtStartup();
        return (new LanFetcher(LanClient, store, Self, new TransferOptions { LanStallTimeout = stall }, new NodeStats(), TimeProvider.System), store);
    }

    private static string? StoredSha(BlobStore store, string sha)
    {
        using var s = store.OpenRead(sha);
        return s is null ? null : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(s));
    }

    /// <summary>The piece list of the good sources' content, as JSON.</summary>
    private byte[] ListJson(Func<PieceList, PieceList>? change = null)
    {
        var list = _good.PieceListOf(_good.Content, _good.PieceSize);
        return JsonSerializer.SerializeToUtf8Bytes(change is null ? list : change(list), StatusJsonContext.Default.PieceList);
    }

    private async Task ServeListAsync(NetworkStream s, CancellationToken ct, byte[]? json = null)
    {
        json ??= ListJson();
        await HostileSource.HeadAsync(s, "200 OK", ct, "Content-Type: application/json", $"Content-Length: {json.Length}");
        await s.WriteAsync(json, ct);
    }

    /// <summary>A hostile source that serves the right piece list and answers every other request with <paramref name="blob"/>.</summary>
    private HostileSource ServingTheList(Func<HostileRequest, NetworkStream, CancellationToken, Task> blob) => new(async (r, s, ct) =>
    {
        if (r.IsPieceList)
        {
            await ServeListAsync(s, ct);
            return;
        }

        await blob(r, s, ct);
    });

    /// <summary>
    /// The strongest single liar for the good sources' blob (set first): other bytes of the same size, and a piece list
    /// made from those bytes under the blob's hash, so every piece it sends verifies against its own list.
    /// </summary>
    private HostileSource SelfConsistentLiar(int size)
    {
        var fake = SwarmRig.Bytes(size, 99);
        var lie = ListJson(l => _good.PieceListOf(fake, Piece) with { Sha256 = l.Sha256 });
        return new HostileSource(async (r, s, ct) =>
        {
            if (r.IsPieceList)
            {
                await ServeListAsync(s, ct, lie);
                return;
            }

            var (from, to) = (r.From!.Value, r.To!.Value);
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{size}", $"Content-Length: {to - from + 1}");
            await s.WriteAsync(fake.AsMemory((int)from, (int)(to - from + 1)), ct);
        });
    }

    /// <summary>A source that serves <paramref name="list"/> as its piece list and answers 404 to every piece.</summary>
    private HostileSource ListThen404(byte[] list) => new(async (r, s, ct) =>
    {
        if (r.IsPieceList)
        {
            await ServeListAsync(s, ct, list);
            return;
        }

        await HostileSource.HeadAsync(s, "404 Not Found", ct, "Content-Length: 0");
    });

    private ReadOnlyMemory<byte> Bytes(long from, long to) => _good.Content.AsMemory((int)from, (int)(to - from + 1));

    /// <summary>
    /// One hostile source listed first (it also serves the piece list unless <paramref name="hostileList"/>), one good
    /// one after it (the server). The fetch must complete with the right bytes from the good one.
    /// </summary>
    private async Task<(FetchResult Result, TimeSpan Took, string? Stored, ListLogger<SwarmFetcher> Log, NodeStats Stats)> SwarmAgainstAsync(
        HostileSource hostile, TimeSpan? stall = null, int size = (8 * Piece) + 123)
    {
        _good.Set(SwarmRig.Bytes(size, 11), Piece, SourceMode.Good);
        var (fetcher, store, stats, log) = Swarm(stall ?? TimeSpan.FromSeconds(2));
        var good = _good.List()[0];
        IReadOnlyList<SwarmSource> sources = [new SwarmSource("node-hostile", hostile.BlobUrl(_good.Sha256), false), good with { IsServer = false }];
        var clock = Stopwatch.StartNew();
        var result = await fetcher.FetchAsync(sources, Piece, SwarmRig.Record(_good.Sha256, size), null, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(3));
        clock.Stop();
        output.WriteLine($"ok={result.Ok} took={clock.Elapsed.TotalSeconds:0.00}s wire={result.Bytes} hostileRequests={hostile.Requests.Count} error={result.Error}");
        output.WriteLine(log.ToString());
        return (result, clock.Elapsed, StoredSha(store, _good.Sha256), log, stats);
    }

    private async Task AssertCompletesFromTheGoodSourceAsync(HostileSource hostile, TimeSpan bound, TimeSpan? stall = null)
    {
        var (result, took, stored, log, _) = await SwarmAgainstAsync(hostile, stall);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored);
        Assert.True(took < bound, $"took {took.TotalSeconds:0.0} s, bound {bound.TotalSeconds:0.0} s");
        Assert.True(log.Has(481, "node-hostile") || hostile.PieceRequests <= SwarmFetcher.MaxSourceFailures, log.ToString());
    }

    // ----- Ranges that lie -----------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1, 0)] // shifted by one
    [InlineData(0, 100)] // longer
    [InlineData(0, -100)] // shorter
    public async Task A206WhoseContentRangeIsNotTheRangeAsked_FailsThePieceThere_AndTheBlobCompletesFromAnother(int shift, int extend)
    {
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            var (from, to) = (r.From!.Value + shift, Math.Min(r.To!.Value + shift + extend, _good.Content.Length - 1));
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{_good.Content.Length}", $"Content-Length: {to - from + 1}");
            await s.WriteAsync(Bytes(from, to), ct);
        });

        await AssertCompletesFromTheGoodSourceAsync(hostile, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A200WithTheWholeBodyToARangeRequest_FailsThePiece_AndTheBlobCompletesFromAnother()
    {
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            await HostileSource.HeadAsync(s, "200 OK", ct, $"Content-Length: {_good.Content.Length}");
            await s.WriteAsync(_good.Content, ct);
        });

        await AssertCompletesFromTheGoodSourceAsync(hostile, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A206WithTheRightRangeButGarbageAfterItsContentLength_KeepsOnlyThePiece()
    {
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            var (from, to) = (r.From!.Value, r.To!.Value);
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{_good.Content.Length}", $"Content-Length: {to - from + 1}");
            await s.WriteAsync(Bytes(from, to), ct);
            await s.WriteAsync(new byte[4 * Piece], ct); // beyond its own Content-Length
        });

        var (result, _, stored, log, stats) = await SwarmAgainstAsync(hostile);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored); // the piece's own bytes were right: nothing after them was taken
        Assert.Equal(0, stats.BadPieces);
    }

    [Fact]
    public async Task AChunkedPieceThatNeverEnds_IsReadOnlyToThePiecesLength_AndTheBlobCompletesFromAnother()
    {
        long sent = 0;
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            var (from, to) = (r.From!.Value, r.To!.Value);
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{_good.Content.Length}", "Transfer-Encoding: chunked");
            var junk = new byte[Piece];
            while (!ct.IsCancellationRequested)
            {
                await HostileSource.WriteAsync(s, $"{junk.Length:x}\r\n", ct);
                await s.WriteAsync(junk, ct);
                await HostileSource.WriteAsync(s, "\r\n", ct);
                Interlocked.Add(ref sent, junk.Length);
            }
        });

        await AssertCompletesFromTheGoodSourceAsync(hostile, TimeSpan.FromSeconds(20));
        output.WriteLine($"hostile sent {Interlocked.Read(ref sent)} bytes of junk"); // its writes end when the client hangs up
    }

    [Fact]
    public async Task APieceListThatNeverEnds_IsCutAtItsLimit_AndTheListComesFromAnother()
    {
        await using var hostile = new HostileSource(async (r, s, ct) =>
        {
            await HostileSource.HeadAsync(s, "200 OK", ct, "Content-Type: application/json", "Transfer-Encoding: chunked");
            var junk = Encoding.ASCII.GetBytes(new string(' ', Piece));
            await HostileSource.WriteAsync(s, "1\r\n[\r\n", ct);
            while (!ct.IsCancellationRequested)
            {
                await HostileSource.WriteAsync(s, $"{junk.Length:x}\r\n", ct);
                await s.WriteAsync(junk, ct);
                await HostileSource.WriteAsync(s, "\r\n", ct);
            }
        });

        var (result, took, stored, log, _) = await SwarmAgainstAsync(hostile);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored);
        Assert.True(log.Has(481, "node-hostile"), log.ToString());
        Assert.True(took < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task HugeResponseHeaders_FailThePieceThere_AndTheBlobCompletesFromAnother()
    {
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            await HostileSource.WriteAsync(s, "HTTP/1.1 206 Partial Content\r\n", ct);
            var header = "X-Junk: " + new string('a', 8000) + "\r\n";
            for (var i = 0; i < 10_000 && !ct.IsCancellationRequested; i++)
            {
                await HostileSource.WriteAsync(s, header, ct); // 80 MB of headers, if anyone reads them
            }
        });

        await AssertCompletesFromTheGoodSourceAsync(hostile, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task ASourceResettingMidPieceEveryTime_IsDroppedAfterThreeFailures_AndTheBlobCompletesFromAnother()
    {
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            var (from, to) = (r.From!.Value, r.To!.Value);
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{_good.Content.Length}", $"Content-Length: {to - from + 1}");
            await s.WriteAsync(Bytes(from, from + 1000), ct);
            await s.FlushAsync(ct);
            HostileSource.Reset(s);
        });

        await AssertCompletesFromTheGoodSourceAsync(hostile, TimeSpan.FromSeconds(20));
        Assert.InRange(hostile.PieceRequests, 1, SwarmFetcher.MaxSourceFailures);
    }

    [Fact]
    public async Task ASourceDrippingOneBytePerSecond_FailsAtTheMinimumRate_AndThePiecesComeFromAnother()
    {
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            var (from, to) = (r.From!.Value, r.To!.Value);
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{_good.Content.Length}", $"Content-Length: {to - from + 1}");
            for (var i = from; i <= to && !ct.IsCancellationRequested; i++)
            {
                await s.WriteAsync(Bytes(i, i), ct);
                await Task.Delay(1000, ct);
            }
        });

        // With a 2 s window: each attempt fails within one window; three failures drop it.
        await AssertCompletesFromTheGoodSourceAsync(hostile, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task ASourceThatNeverAnswersItsHeaders_IsLeftAfterTheStallBound_AndTheBlobCompletesFromAnother()
    {
        await using var hostile = new HostileSource((r, s, ct) => r.IsPieceList ? ServeListAsync(s, ct) : Task.Delay(Timeout.Infinite, ct));

        // 2 s window: three attempts of one window each (two at once), then dropped; the others never wait for it.
        await AssertCompletesFromTheGoodSourceAsync(hostile, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task ASourceDroppedWhileSeveralOfItsPiecesWereInFlight_IsCountedAndLoggedAsDroppedOnce()
    {
        await using var hostile = new HostileSource((r, s, ct) => r.IsPieceList
            ? ServeListAsync(s, ct)
            : HostileSource.HeadAsync(s, "404 Not Found", ct, "Content-Length: 0"));

        var (result, _, stored, log, stats) = await SwarmAgainstAsync(hostile);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored);
        Assert.Equal(2, hostile.PieceRequests); // PiecesPerSource: two were asked of it at once
        Assert.Equal(1, log.Lines.Count(l => l.EventId == 481 && l.Text.Contains("node-hostile", StringComparison.Ordinal)));
        Assert.Equal(1, stats.SourcesDropped);
    }

    [Fact]
    public async Task EightSourcesThatNeverAnswer_TheFetchFailsWithinTheirStallBounds_ForTheInternetToTakeOver()
    {
        var silent = Enumerable.Range(0, PeerPatch.Protocol.ProtocolLimits.MaxSources).Select(_ => new HostileSource((r, s, ct) => Task.Delay(Timeout.Infinite, ct))).ToList();
        try
        {
            _good.Set(SwarmRig.Bytes((8 * Piece) + 123, 17), Piece, SourceMode.Good);
            var (fetcher, store, _, log) = Swarm(TimeSpan.FromSeconds(2));
            var clock = Stopwatch.StartNew();

            var result = await fetcher.FetchAsync([.. silent.Select((h, i) => new SwarmSource($"node-{i}", h.BlobUrl(_good.Sha256), i == 0))], Piece, SwarmRig.Record(_good.Sha256, _good.Content.Length), null, CancellationToken.None)
                .WaitAsync(TimeSpan.FromMinutes(2));

            output.WriteLine($"failed after {clock.Elapsed.TotalSeconds:0.0} s: {result.Error}");
            Assert.False(result.Ok);
            Assert.Null(StoredSha(store, _good.Sha256));

            // The piece list is asked of one source after the other, a window each: 8 x 2 s.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8 * 2 * 1.5), $"took {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            foreach (var h in silent)
            {
                await h.DisposeAsync();
            }
        }
    }

    // ----- Redirects -----------------------------------------------------------------------------------------------

    [Fact]
    public async Task APieceAnsweredWithARedirectToAnotherAddress_IsNotFollowed()
    {
        // A "victim" on another loopback port (stands for any host: an internet address, a router's admin page).
        await using var victim = new HostileSource(async (r, s, ct) =>
        {
            var (from, to) = (r.From ?? 0, r.To ?? (_good.Content.Length - 1));
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{_good.Content.Length}", $"Content-Length: {to - from + 1}");
            await s.WriteAsync(Bytes(from, to), ct);
        });
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            await HostileSource.HeadAsync(s, "307 Temporary Redirect", ct, $"Location: http://127.0.0.1:{victim.Port}/anything/the/source/likes?x=1", "Content-Length: 0");
        });

        var (result, _, stored, _, _) = await SwarmAgainstAsync(hostile);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored);
        Assert.True(
            victim.Requests.IsEmpty,
            $"the node followed a LAN source's redirect to another address {victim.Requests.Count} times: {string.Join(", ", victim.Requests.Select(r => r.Target))}");
    }

    [Fact]
    public async Task AWholeFileAnsweredWithARedirectToAnotherAddress_IsNotFollowed()
    {
        _good.Set(SwarmRig.Bytes(300_000, 12), Piece, SourceMode.Good);
        await using var victim = new HostileSource(async (r, s, ct) =>
        {
            await HostileSource.HeadAsync(s, "200 OK", ct, $"Content-Length: {_good.Content.Length}");
            await s.WriteAsync(_good.Content, ct);
        });
        await using var hostile = new HostileSource((r, s, ct) =>
            HostileSource.HeadAsync(s, "302 Found", ct, $"Location: http://127.0.0.1:{victim.Port}/elsewhere", "Content-Length: 0"));
        var (fetcher, store) = Whole(TimeSpan.FromSeconds(2));

        var result = await fetcher.FetchAsync(hostile.BlobUrl(_good.Sha256), SwarmRig.Record(_good.Sha256, _good.Content.Length), null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        output.WriteLine($"ok={result.Ok} error={result.Error} victim={victim.Requests.Count}");
        Assert.True(victim.Requests.IsEmpty, $"the node followed a LAN source's redirect to {victim.Requests.FirstOrDefault()?.Target}; stored: {StoredSha(store, _good.Sha256) is not null}");
        Assert.False(result.Ok);
    }

    [Fact]
    public async Task OnAKeyedLan_ARedirectedPieceRequest_CarriesNoSignatureToTheRedirectTarget()
    {
        _services.Dispose();
        _services = ProductionServices(PeerPatch.Protocol.Security.ClusterKey.Generate());
        await using var victim = new HostileSource((r, s, ct) => HostileSource.HeadAsync(s, "404 Not Found", ct, "Content-Length: 0"));
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            await HostileSource.HeadAsync(s, "307 Temporary Redirect", ct, $"Location: http://127.0.0.1:{victim.Port}/x", "Content-Length: 0");
        });

        var (result, _, stored, _, _) = await SwarmAgainstAsync(hostile);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored);
        Assert.True(hostile.Requests.All(r => r.Headers.ContainsKey("Authorization")), "the source itself got unsigned requests");
        Assert.DoesNotContain(victim.Requests, r => r.Headers.ContainsKey("Authorization"));
        output.WriteLine($"victim got {victim.Requests.Count} requests, none signed");
    }

    [Fact]
    public async Task ARedirectLoop_EndsThePieceThereQuickly_AndTheBlobCompletesFromAnother()
    {
        HostileSource? self = null;
        await using var hostile = self = new HostileSource(async (r, s, ct) =>
        {
            if (r.IsPieceList)
            {
                await ServeListAsync(s, ct);
                return;
            }

            await HostileSource.HeadAsync(s, "302 Found", ct, $"Location: http://127.0.0.1:{self!.Port}/v1/blobs/{_good.Sha256}", "Content-Length: 0");
        });

        var (result, took, stored, _, _) = await SwarmAgainstAsync(hostile);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored);
        Assert.True(took < TimeSpan.FromSeconds(10));
        output.WriteLine($"requests to the looping source: {hostile.PieceRequests}");
    }

    // ----- Piece lists that contradict -----------------------------------------------------------------------------

    [Fact]
    public async Task APieceListWithWrongHashesFromTheFirstSource_DoesNotMakeTheHonestSourcesLookBad_AndTheBlobComesFromTheLan()
    {
        // Well formed (right sha, size, piece size, count) but every piece hash made up: only the bytes can tell.
        _good.Set(SwarmRig.Bytes((8 * Piece) + 123, 11), Piece, SourceMode.Good);
        var lie = ListJson(l => l with { Pieces = [.. l.Pieces.Select((_, i) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i))))] });
        await using var hostile = ListThen404(lie);

        var (result, _, stored, log, stats) = await SwarmAgainstAsync(hostile);

        Assert.False(log.Has(480, "node-0"), "an honest holder was blamed for a bad piece because another source's piece list lied:\n" + log);
        Assert.Equal(0, stats.BadPieces);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored);
    }

    [Fact]
    public async Task AHolderWhoseMadeUpListMatchesItsOwnMadeUpBytes_IsDroppedWhenTheWholeFails_AndTheBlobComesFromTheHonestOne()
    {
        // The strongest single liar: its list and its bytes agree with each other, so every piece it sends verifies
        // against its list. Only the upstream hash of the whole can tell; the honest holder must not be blamed.
        const int size = (8 * Piece) + 123;
        _good.Set(SwarmRig.Bytes(size, 11), Piece, SourceMode.Good);
        await using var hostile = SelfConsistentLiar(size);

        var (result, _, stored, log, stats) = await SwarmAgainstAsync(hostile, size: size);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored);
        Assert.True(log.Has(487, _good.Sha256), "the disagreement on the list is logged:\n" + log);
        Assert.True(log.Has(481, "node-hostile"), "the liar is dropped:\n" + log);
        Assert.False(log.Has(480, "node-0"), "the honest holder was blamed for a bad piece:\n" + log);
        Assert.False(log.Has(481, "node-0"), "the honest holder was dropped:\n" + log);
        Assert.Equal(0, stats.BadPieces);
        Assert.True(result.Bytes >= 2L * size, $"both lists were fetched by, in turn ({result.Bytes} bytes on the wire)");
    }

    [Fact]
    public async Task AMadeUpListOutvotedByTwoHonestHolders_IsNeverFetchedBy_AndItsHolderIsAskedForNoPiece()
    {
        const int size = (8 * Piece) + 123;
        _good.Set(SwarmRig.Bytes(size, 11), Piece, SourceMode.Good, SourceMode.Good);
        var lie = ListJson(l => l with { Pieces = [.. l.Pieces.Select((_, i) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i))))] });
        await using var hostile = ListThen404(lie);
        var (fetcher, store, stats, log) = Swarm(TimeSpan.FromSeconds(2));
        IReadOnlyList<SwarmSource> sources = [new SwarmSource("node-hostile", hostile.BlobUrl(_good.Sha256), false), .. _good.List().Select(g => g with { IsServer = false })];

        var result = await fetcher.FetchAsync(sources, Piece, SwarmRig.Record(_good.Sha256, size), null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        output.WriteLine(log.ToString());
        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, StoredSha(store, _good.Sha256));
        Assert.True(log.Has(487, _good.Sha256), log.ToString());
        Assert.Equal(0, hostile.PieceRequests);
        Assert.Equal(0, stats.BadPieces);
        Assert.Equal((long)size, result.Bytes); // one pass over the pieces: the honest list came first
    }

    [Fact]
    public async Task AnHonestHolderWhosePieceListAnswerFailed_IsNotBlamedForBadPieces_AgainstALiarsOnlyList()
    {
        // Found by review: the liar's self-consistent list was the only one received (the honest holder's list request
        // got a transient 500), and it was used with every source, so the honest holder's right pieces "failed" it.
        const int size = (8 * Piece) + 123;
        _good.Set(SwarmRig.Bytes(size, 11), Piece, SourceMode.Good);
        await using var liar = SelfConsistentLiar(size);
        await using var honest = new HostileSource(async (r, s, ct) =>
        {
            if (r.IsPieceList)
            {
                await HostileSource.HeadAsync(s, "500 Internal Server Error", ct, "Content-Length: 0");
                return;
            }

            var (from, to) = (r.From!.Value, r.To!.Value);
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{size}", $"Content-Length: {to - from + 1}");
            await s.WriteAsync(Bytes(from, to), ct);
        });
        var (fetcher, _, stats, log) = Swarm(TimeSpan.FromSeconds(2));
        IReadOnlyList<SwarmSource> sources = [new SwarmSource("node-liar", liar.BlobUrl(_good.Sha256), false), new SwarmSource("node-honest", honest.BlobUrl(_good.Sha256), false)];

        var result = await fetcher.FetchAsync(sources, Piece, SwarmRig.Record(_good.Sha256, size), null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        output.WriteLine($"ok={result.Ok} error={result.Error} badPieces={stats.BadPieces}\n{log}");
        Assert.False(log.Has(480, "node-honest"), "the honest holder was logged as sending a bad piece, judged by the liar's list:\n" + log);
        Assert.False(log.Has(481, "node-honest"), "the honest holder was dropped:\n" + log);
        Assert.Equal(0, stats.BadPieces);
        Assert.Equal(0, honest.PieceRequests); // it vouched for no list: it is not asked by one
        Assert.True(log.Has(481, "node-liar"), "the liar is dropped once the whole fails:\n" + log);
    }

    [Fact]
    public async Task OneHolderThatNeverAnswersItsPieceList_DoesNotHoldBackAFetchTheOthersCanServe()
    {
        // Found by review: the lists were awaited all together, so one silent holder added its whole stall bound.
        const int size = (8 * Piece) + 123;
        _good.Set(SwarmRig.Bytes(size, 11), Piece, SourceMode.Good);
        await using var silent = new HostileSource((r, s, ct) => Task.Delay(Timeout.Infinite, ct)); // reads the request, says nothing
        var stall = TimeSpan.FromSeconds(10);
        var (fetcher, store, _, log) = Swarm(stall);
        IReadOnlyList<SwarmSource> sources = [_good.List()[0] with { IsServer = false }, new SwarmSource("node-silent", silent.BlobUrl(_good.Sha256), false)];
        var clock = Stopwatch.StartNew();

        var result = await fetcher.FetchAsync(sources, Piece, SwarmRig.Record(_good.Sha256, size), null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        output.WriteLine($"ok={result.Ok} took={clock.Elapsed.TotalSeconds:0.00}s error={result.Error}\n{log}");
        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, StoredSha(store, _good.Sha256));
        Assert.Equal(0, silent.PieceRequests); // it served no list: asked for no piece
        Assert.True(clock.Elapsed < stall / 2, $"a 500 kB fetch from a loopback holder took {clock.Elapsed.TotalSeconds:0.0} s: it waited for the silent holder's piece list (stall bound {stall.TotalSeconds} s, grace 1 s)");
    }

    [Fact]
    public async Task APieceListWithTheWrongCountOrSize_IsRefused_AndTheListComesFromAnother()
    {
        _good.Set(SwarmRig.Bytes((8 * Piece) + 123, 11), Piece, SourceMode.Good);
        foreach (var lie in new[]
                 {
                     ListJson(l => l with { Pieces = [.. l.Pieces, l.Pieces[0]] }),
                     ListJson(l => l with { Size = l.Size + 1 }),
                     ListJson(l => l with { PieceSize = Piece * 2 }),
                 })
        {
            await using var hostile = ListThen404(lie);

            var (result, _, stored, log, _) = await SwarmAgainstAsync(hostile);
            Assert.True(result.Ok, result.Error);
            Assert.Equal(_good.Sha256, stored);
            Assert.True(log.Has(481, "node-hostile"), log.ToString());
        }
    }

    // ----- 503 and Retry-After -------------------------------------------------------------------------------------

    [Theory]
    [InlineData("999999")]
    [InlineData("-5")]
    [InlineData("garbage")]
    [InlineData("Fri, 31 Dec 9999 23:59:59 GMT")]
    public async Task A503WithAnOddRetryAfter_DoesNotHoldTheFetch_WhileAnotherSourceServes(string retryAfter)
    {
        await using var hostile = ServingTheList(async (r, s, ct) =>
        {
            await HostileSource.HeadAsync(s, "503 Service Unavailable", ct, $"Retry-After: {retryAfter}", "Content-Length: 0");
        });

        var (result, took, stored, _, _) = await SwarmAgainstAsync(hostile);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(_good.Sha256, stored);
        Assert.True(took < TimeSpan.FromSeconds(10), $"took {took.TotalSeconds:0.0} s");
    }

    [Theory]
    [InlineData("999999")]
    [InlineData("-5")]
    [InlineData("garbage")]
    public async Task AWholeFileSourceAnswering503WithAnOddRetryAfter_WaitsWithinItsBound(string retryAfter)
    {
        _good.Set(SwarmRig.Bytes(100_000, 13), Piece, SourceMode.Good);
        await using var hostile = new HostileSource((r, s, ct) =>
            HostileSource.HeadAsync(s, "503 Service Unavailable", ct, $"Retry-After: {retryAfter}", "Content-Length: 0"));
        var db = PatchDatabase.Open(_dir.Sub($"db-{Guid.NewGuid():N}"));
        var store = new BlobStore(_dir.Sub($"store-{Guid.NewGuid():N}"), db, new BlobStoreOptions { ReserveFreeBytes = 0 }, TimeProvider.System);
        store.RecoverAtStartup();
        var fetcher = new LanFetcher(LanClient, store, Self, new TransferOptions { LanBusyWaitMax = TimeSpan.FromSeconds(3) }, new NodeStats(), TimeProvider.System);
        var clock = Stopwatch.StartNew();

        var result = await fetcher.FetchAsync(hostile.BlobUrl(_good.Sha256), SwarmRig.Record(_good.Sha256, 100_000), null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        output.WriteLine($"ok={result.Ok} took={clock.Elapsed.TotalSeconds:0.0}s asks={hostile.Requests.Count} error={result.Error}");
        Assert.False(result.Ok);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
    }

    // ----- The whole-file LAN fetch (a hit without pieces, the server's own copy) -----------------------------------

    [Fact]
    public async Task AWholeFileSourceThatNeverAnswersItsHeaders_IsLeftWithinTheStallBound()
    {
        _good.Set(SwarmRig.Bytes(100_000, 14), Piece, SourceMode.Good);
        await using var hostile = new HostileSource((r, s, ct) => Task.Delay(Timeout.Infinite, ct)); // reads the request, says nothing
        var (fetcher, _) = Whole(TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();

        var fetch = fetcher.FetchAsync(hostile.BlobUrl(_good.Sha256), SwarmRig.Record(_good.Sha256, 100_000), null, CancellationToken.None);
        var ended = await Task.WhenAny(fetch, Task.Delay(TimeSpan.FromSeconds(20))) == fetch;

        output.WriteLine($"ended={ended} after {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(ended, "the whole-file LAN fetch still waits for headers after 20 s; the stall bound is 2 s");
    }

    [Fact]
    public async Task AWholeFileSourceDrippingBelowTheLanMinimumRate_IsLeft_LikeAPieceSourceIs()
    {
        const int size = 300_000;
        _good.Set(SwarmRig.Bytes(size, 15), Piece, SourceMode.Good);
        await using var hostile = new HostileSource(async (r, s, ct) =>
        {
            await HostileSource.HeadAsync(s, "200 OK", ct, $"Content-Length: {size}");
            for (var i = 0; i < size && !ct.IsCancellationRequested; i++)
            {
                await s.WriteAsync(Bytes(i, i), ct);
                await Task.Delay(200, ct); // 5 bytes/s: 300 kB would take 17 hours
            }
        });
        var (fetcher, _) = Whole(TimeSpan.FromSeconds(2)); // LanMinBytesPerWindow default: 64 KiB per window
        var clock = Stopwatch.StartNew();

        var fetch = fetcher.FetchAsync(hostile.BlobUrl(_good.Sha256), SwarmRig.Record(_good.Sha256, size), null, CancellationToken.None);
        var ended = await Task.WhenAny(fetch, Task.Delay(TimeSpan.FromSeconds(20))) == fetch;

        output.WriteLine($"ended={ended} after {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(ended, "a whole-file LAN source dripping 5 bytes/s still holds the fetch after 20 s (10 windows of 2 s, each short of LanMinBytesPerWindow)");
        Assert.False((await fetch).Ok);
    }

    [Fact]
    public async Task AWholeFileSourceSendingMoreThanTheBlob_IsRejected_NothingStored()
    {
        _good.Set(SwarmRig.Bytes(100_000, 16), Piece, SourceMode.Good);
        await using var hostile = new HostileSource(async (r, s, ct) =>
        {
            await HostileSource.HeadAsync(s, "200 OK", ct, "Transfer-Encoding: chunked");
            await HostileSource.WriteAsync(s, $"{_good.Content.Length:x}\r\n", ct);
            await s.WriteAsync(_good.Content, ct);
            await HostileSource.WriteAsync(s, "\r\n", ct);
            var junk = new byte[Piece];
            while (!ct.IsCancellationRequested)
            {
                await HostileSource.WriteAsync(s, $"{junk.Length:x}\r\n", ct);
                await s.WriteAsync(junk, ct);
                await HostileSource.WriteAsync(s, "\r\n", ct);
            }
        });
        var (fetcher, store) = Whole(TimeSpan.FromSeconds(2));

        var result = await fetcher.FetchAsync(hostile.BlobUrl(_good.Sha256), SwarmRig.Record(_good.Sha256, 100_000), null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        output.WriteLine($"ok={result.Ok} error={result.Error}");
        Assert.False(result.Ok);
        Assert.Null(StoredSha(store, _good.Sha256));
    }
}
