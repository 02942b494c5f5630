using PeerPatch.Node.Transfer;
using PeerPatch.Node.Tests.Updating.Fakes;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary><see cref="SwarmFetcher"/> against fake LAN holders on loopback: bad pieces, dead, evicted, busy and stalled holders.</summary>
[Trait("Category", "Network")]
public sealed class SwarmFetcherTests : IAsyncLifetime
{
    private const int Piece = 64 * 1024;
    private FakeSources _sources = null!;

    public async Task InitializeAsync() => _sources = await FakeSources.StartAsync(4);

    public async Task DisposeAsync() => await _sources.DisposeAsync();

    [Fact]
    public async Task APeerServingWrongBytesForOnePiece_IsDroppedCountedAndLogged_AndTheFileCompletesFromTheOthers()
    {
        using var rig = new SwarmRig();
        _sources.Set(SwarmRig.Bytes((16 * Piece) + 123, 1), Piece, SourceMode.BadPiece, SourceMode.Good, SourceMode.Good);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.Equal(1, rig.Stats.BadPieces);
        Assert.Equal(1, rig.Stats.SourcesDropped);
        Assert.True(rig.Log.Has(480, "node-0"), rig.Log.ToString()); // the bad piece, with the peer's id
        Assert.True(rig.Log.Has(481, "node-0"), rig.Log.ToString()); // and its drop
        Assert.False(rig.Log.Has(480, "node-1") || rig.Log.Has(480, "node-2"), rig.Log.ToString());
        Assert.Equal(0, rig.TempFiles);
    }

    [Fact]
    public async Task AHolderKilledMidBody_AndAHolderAnswering404_TheFetchCompletesFromTheOthers()
    {
        using var rig = new SwarmRig();
        _sources.Set(SwarmRig.Bytes(10 * Piece, 2), Piece, SourceMode.DieMidBody, SourceMode.NotFound, SourceMode.Good);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.Equal(0, rig.Stats.BadPieces);
        Assert.Equal(10 * Piece, rig.Stats.PieceBytesFromServer); // every verified byte from the good one (the last: the server)
    }

    [Fact]
    public async Task AStalledHolder_IsLeftAfterTheStallBound_AndThePieceComesFromAnother()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(1));
        _sources.Set(SwarmRig.Bytes(6 * Piece, 3), Piece, SourceMode.Stall, SourceMode.Good);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
    }

    [Fact]
    public async Task ABusyHolder_IsLeftAloneForItsRetryAfter()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(10));
        _sources.BusyAnswers = 2;
        _sources.Set(SwarmRig.Bytes(3 * Piece, 4), Piece, SourceMode.Busy);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error);
        var answers = _sources.Answers(0);
        Assert.Equal(503, answers[0].Status);
        var firstPiece = answers.First(a => a.Status == 206);

        // Retry-After: 1 was honoured: the holder was not asked again before a second had passed.
        Assert.True(firstPiece.At - answers[0].At >= TimeSpan.FromMilliseconds(900), $"asked again after {(firstPiece.At - answers[0].At).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task ABusyHolder_DoesNotHoldUpTheOthers()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(10));
        _sources.BusyAnswers = 1000;
        _sources.Set(SwarmRig.Bytes(8 * Piece, 5), Piece, SourceMode.Busy, SourceMode.Good);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error);
        Assert.True(_sources.Requests(0) <= 4, $"the busy holder was asked {_sources.Requests(0)} times");
    }

    [Fact]
    public async Task EveryListedSourceBusyBeforeAPiece_HandsBackAfterLanBusyAskAgain_AsBusy_NotAsAFailure()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(10));
        rig.Options.LanBusyAskAgain = TimeSpan.FromSeconds(1);
        _sources.BusyAnswers = 1000;
        _sources.Set(SwarmRig.Bytes(4 * Piece, 7), Piece, SourceMode.Busy, SourceMode.Busy);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await rig.FetchAsync(_sources);

        Assert.False(result.Ok);
        Assert.True(result.Busy, result.Error); // the pipeline asks the server again: no LAN failure, no internet yet
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(8)); // not the 10 min of LanBusyWaitMax
        Assert.True(rig.Log.Has(488, _sources.Sha256), rig.Log.ToString());
        Assert.False(rig.Log.Has(484, _sources.Sha256), rig.Log.ToString()); // not logged as a failed fetch
        Assert.Equal(0, rig.Stats.SourcesDropped);
        Assert.Equal(0, rig.TempFiles);
        Assert.Null(rig.StoredSha(_sources.Sha256));
    }

    [Fact]
    public async Task WithLanBusyAskAgainOff_BusySourcesAreWaitedForUpToLanBusyWaitMax_ThenItIsAFailure()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(10));
        rig.Options.LanBusyAskAgain = TimeSpan.Zero;
        rig.Options.LanBusyWaitMax = TimeSpan.FromSeconds(2);
        _sources.BusyAnswers = 1000;
        _sources.Set(SwarmRig.Bytes(4 * Piece, 8), Piece, SourceMode.Busy);

        var result = await rig.FetchAsync(_sources);

        Assert.False(result.Ok);
        Assert.False(result.Busy);
        Assert.Contains("stayed busy for 2 s", result.Error, StringComparison.Ordinal);
        Assert.False(rig.Log.Has(488, _sources.Sha256), rig.Log.ToString());
    }

    [Fact]
    public async Task EverySourceBad_IsAFailure_NothingCommitted_NoTempFileLeft()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(1));
        _sources.Set(SwarmRig.Bytes((5 * Piece) + 7, 6), Piece, SourceMode.BadPiece, SourceMode.NotFound, SourceMode.DieMidBody, SourceMode.Stall);

        var result = await rig.FetchAsync(_sources);

        Assert.False(result.Ok);
        Assert.Contains("every LAN source failed", result.Error, StringComparison.Ordinal);
        Assert.False(rig.Store.Contains(_sources.Sha256));
        Assert.Equal(0, rig.TempFiles);
        Assert.Equal(0, rig.Partials.Count);
    }

    [Fact]
    public async Task ASourceServingABadPieceList_IsDropped_AndTheListComesFromAnother()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(10)); // a list request slower than the bound under load would skip, not drop
        _sources.Set(SwarmRig.Bytes(4 * Piece, 7), Piece, SourceMode.Good, SourceMode.BadList); // the server (last) is asked for the list first

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error);
        Assert.True(rig.Log.Has(481, "node-1"), rig.Log + " lists asked: " + string.Join(", ", _sources.ListRequests));
        Assert.Equal(4 * Piece, rig.Stats.PieceBytesFromPeers);
    }

    [Fact]
    public async Task APieceSizeOtherThanTheServerAnnounced_IsRefused()
    {
        using var rig = new SwarmRig();
        _sources.Set(SwarmRig.Bytes(4 * Piece, 8), Piece, SourceMode.Good);

        var result = await rig.FetchAsync(_sources.List(), 2 * Piece, _sources.Sha256, _sources.Content.Length);

        Assert.False(result.Ok);
        Assert.Equal(0, _sources.Requests(0));
        Assert.Equal(0, rig.TempFiles);
    }

    [Fact]
    public async Task ProgressFollowsTheVerifiedBytes_UpToTheSize()
    {
        using var rig = new SwarmRig();
        _sources.Set(SwarmRig.Bytes((7 * Piece) + 1, 9), Piece, SourceMode.Good, SourceMode.Good);
        var progress = new ByteProgress(_ => { });

        var result = await rig.FetchAsync(_sources, progress);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Content.Length, progress.Value);
    }
}
