using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>
/// <see cref="SwarmFetcher"/> against holders that are slow rather than broken: one dripping a byte at a time, one
/// stalling on the last pieces (the endgame), and holders answering only "busy" for longer than the stall bound.
/// </summary>
[Trait("Category", "Network")]
public sealed class SwarmFetcherSlowSourceTests : IAsyncLifetime
{
    private const int Piece = 64 * 1024;
    private FakeSources _sources = null!;

    public async Task InitializeAsync() => _sources = await FakeSources.StartAsync(3);

    public async Task DisposeAsync() => await _sources.DisposeAsync();

    [Fact]
    public async Task ADrippingHolder_FailsItsPiecesLikeAStalledOne_AndIsDropped()
    {
        // The drip never pauses as long as the stall bound (a byte every 100 ms, the bound 1 s): only the minimum rate
        // per window ends it. Before that rule each piece waited on it until the holder gave up (60 s here; never, for
        // a real one). The fetch is cancelled far beyond what the rule allows, so a hang fails the test.
        using var rig = new SwarmRig(TimeSpan.FromSeconds(1));
        _sources.Set(SwarmRig.Bytes(3 * Piece, 10), Piece, SourceMode.Drip);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(40));

        var result = await rig.Fetcher.FetchAsync(_sources.List(), Piece, SwarmRig.Record(_sources.Sha256, _sources.Content.Length), null, bound.Token);

        Assert.False(result.Ok);
        Assert.Contains("every LAN source failed", result.Error, StringComparison.Ordinal);
        Assert.True(rig.Log.Has(481, "node-0"), rig.Log.ToString());
        Assert.Contains("required", result.Error, StringComparison.Ordinal); // the rate rule's words, not a stall's
        Assert.Equal(0, rig.TempFiles);
    }

    [Fact]
    public async Task ADrippingHolder_ThePiecesComeFromAnother_AndTheDripperIsPausedOrDropped()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(1));
        _sources.Set(SwarmRig.Bytes(6 * Piece, 11), Piece, SourceMode.Drip, SourceMode.Good);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(40));

        var result = await rig.Fetcher.FetchAsync(_sources.List(), Piece, SwarmRig.Record(_sources.Sha256, _sources.Content.Length), null, bound.Token);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));

        // Its pieces failed on the rate rule (paused, or dropped) or, when the endgame came first, were taken from the
        // good holder, which then served every piece.
        Assert.True(rig.Log.Has(482, "node-0") || rig.Log.Has(481, "node-0") || rig.Log.Has(486, "node-0"), rig.Log.ToString());
        Assert.True(rig.Stats.PieceBytesFromPeers < Piece, $"{rig.Stats.PieceBytesFromPeers} bytes from the dripper");
    }

    [Fact]
    public async Task AHolderStalledOnAPieceInTheEndgame_ThePieceIsAskedOfAnIdleSource_AndTheFirstCopyIsKept()
    {
        // The stall bound is far longer than the test: without the endgame the pieces on the stalled holder would
        // wait for it. In the endgame they are asked of the good holder too; the stalled copies are cancelled,
        // which is nobody's fault (no failure logged, no drop).
        using var rig = new SwarmRig(TimeSpan.FromSeconds(120));
        _sources.Set(SwarmRig.Bytes((8 * Piece) + 5, 12), Piece, SourceMode.Stall, SourceMode.Good);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        var result = await rig.Fetcher.FetchAsync(_sources.List(), Piece, SwarmRig.Record(_sources.Sha256, _sources.Content.Length), null, bound.Token);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.True(rig.Log.Has(486, "node-0"), rig.Log.ToString()); // the endgame asked another for node-0's piece
        Assert.False(rig.Log.Has(481, "node-0") || rig.Log.Has(482, "node-0"), rig.Log.ToString());
        Assert.Equal(0, rig.Stats.SourcesDropped);
        Assert.Equal(0, rig.TempFiles);
    }

    [Fact]
    public async Task EverySourceBusyLongerThanTheStallBound_ButShorterThanTheBusyBound_TheFetchWaitsAndCompletes()
    {
        // Two holders answer 503 (Retry-After: 1) to their first six piece requests: some three seconds of nothing but
        // "busy", three times the stall bound. The fetch waits (logging it once) instead of leaving for the internet.
        using var rig = new SwarmRig(TimeSpan.FromSeconds(1));
        rig.Options.LanBusyWaitMax = TimeSpan.FromSeconds(60);
        _sources.BusyAnswers = 6;
        _sources.Set(SwarmRig.Bytes(4 * Piece, 13), Piece, SourceMode.Busy, SourceMode.Busy);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.Equal(1, rig.Log.Count(485));
        Assert.Equal(503, _sources.Answers(0)[0].Status);
        Assert.Equal(0, rig.Stats.SourcesDropped);
    }

    /// <summary>
    /// Sources that only failed, none busy, pausing past the stall bound: the fetch ends, and its reason says they
    /// failed, not that they were busy (it used to say "stayed busy" whatever kept them).
    /// </summary>
    [Fact]
    public async Task SourcesPausingAfterFailuresPastTheStallBound_EndTheFetch_WithoutCallingThemBusy()
    {
        using var rig = new SwarmRig(TimeSpan.FromMilliseconds(200)); // shorter than a failure's pause (FailurePause)
        _sources.Set(SwarmRig.Bytes(2 * Piece, 15), Piece, SourceMode.DieMidBody, SourceMode.DieMidBody);

        var result = await rig.FetchAsync(_sources);

        Assert.False(result.Ok);
        Assert.Contains("no LAN source served a piece within the stall bound of 0.2 s: pausing after failures", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("busy", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, rig.TempFiles);
    }

    [Fact]
    public async Task EverySourceBusyLongerThanTheBusyBound_IsAFailure_NothingLeft()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(1));
        rig.Options.LanBusyWaitMax = TimeSpan.FromSeconds(2);
        _sources.BusyAnswers = 1000;
        _sources.Set(SwarmRig.Bytes(2 * Piece, 14), Piece, SourceMode.Busy);

        var result = await rig.FetchAsync(_sources);

        Assert.False(result.Ok);
        Assert.Contains("stayed busy", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, rig.TempFiles);
    }

    [Fact]
    public void TheBusyBoundAndTheMinimumLanRate_AreValidated()
    {
        var validator = new TransferOptionsValidator();
        Assert.Contains("LanMinBytesPerWindow", validator.Validate(null, new TransferOptions { LanMinBytesPerWindow = 0 }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("LanBusyWaitMax", validator.Validate(null, new TransferOptions { LanBusyWaitMax = TimeSpan.Zero }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("LanBusyWaitMax", validator.Validate(null, new TransferOptions { LanBusyWaitMax = TimeSpan.FromDays(2) }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("LanBusyAskAgain", validator.Validate(null, new TransferOptions { LanBusyAskAgain = TimeSpan.FromMilliseconds(10) }).FailureMessage, StringComparison.Ordinal); // a lookup flood
        Assert.Contains("LanBusyAskAgain", validator.Validate(null, new TransferOptions { LanBusyAskAgain = TimeSpan.FromMinutes(11) }).FailureMessage, StringComparison.Ordinal); // past LanBusyWaitMax
        Assert.Contains("LanBusyAskAgain", validator.Validate(null, new TransferOptions { LanBusyAskAgain = TimeSpan.FromSeconds(-1) }).FailureMessage, StringComparison.Ordinal);
        Assert.True(validator.Validate(null, new TransferOptions { LanBusyAskAgain = TimeSpan.Zero }).Succeeded); // off
        Assert.True(validator.Validate(null, new TransferOptions()).Succeeded);
    }
}
