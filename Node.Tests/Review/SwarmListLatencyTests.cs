using System.Diagnostics;
using PeerPatch.Node.Tests.Transfer;
using PeerPatch.Node.Transfer;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Review;

/// <summary>
/// Review finding: without a server list, GetPieceListsAsync asks every holder at once and waits for ALL of them
/// (Task.WhenAll, SwarmFetcher.Pieces.cs), so one listed holder that never answers (a PC that went to sleep behind
/// a firewall that drops, a hung node) delays the start of every fetch by the whole LanStallTimeout (15 s by
/// default), although an honest holder answered at once and could serve every piece.
/// </summary>
[Trait("Category", "Network")]
public sealed class SwarmListLatencyTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const int Piece = 64 * 1024;
    private readonly HostileSourceTestsAccess _rig = new();
    private FakeSources _good = null!;

    public async Task InitializeAsync() => _good = await FakeSources.StartAsync(1);

    public async Task DisposeAsync() => await _good.DisposeAsync();

    public void Dispose() => _rig.Dispose();

    [Fact]
    public async Task OneHolderThatNeverAnswersItsPieceList_DoesNotHoldBackAFetchTheOthersCanServe()
    {
        const int size = (8 * Piece) + 123;
        _good.Set(SwarmRig.Bytes(size, 11), Piece, SourceMode.Good);
        await using var silent = new HostileSource((r, s, ct) => Task.Delay(Timeout.Infinite, ct)); // reads the request, says nothing
        var stall = TimeSpan.FromSeconds(4);
        var (fetcher, _, log) = _rig.Swarm(stall);
        IReadOnlyList<SwarmSource> sources = [_good.List()[0] with { IsServer = false }, new SwarmSource("node-silent", silent.BlobUrl(_good.Sha256), false)];
        var clock = Stopwatch.StartNew();

        var result = await fetcher.FetchAsync(sources, Piece, SwarmRig.Record(_good.Sha256, size), null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        output.WriteLine($"ok={result.Ok} took={clock.Elapsed.TotalSeconds:0.00}s error={result.Error}\n{log}");
        Assert.True(result.Ok, result.Error);
        Assert.True(clock.Elapsed < stall / 2, $"a 500 kB fetch from a loopback holder took {clock.Elapsed.TotalSeconds:0.0} s: it waited for the silent holder's piece list (stall bound {stall.TotalSeconds} s)");
    }
}
