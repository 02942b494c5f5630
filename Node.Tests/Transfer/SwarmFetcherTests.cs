using PeerPatch.Node.Transfer;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Protocol.Status;

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
        using var rig = new SwarmRig(order: SwarmRig.InOrder); // node-0, asked first, gets pieces 0 and 1: it corrupts 1
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
        Assert.Equal([(_sources.Sha256, "node-0", SourceFault.BadBytes)], rig.Faults.All); // told to the server, once
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
        Assert.DoesNotContain(rig.Faults.All, f => f.NodeId == "node-0"); // killed mid-body: no proof it is wrong, not reported
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

        // Reported: the bad bytes, and the listed holder that answered 404 to every ask; not the one that died mid-body
        // (a transient failure proves nothing), nor the server, whatever it did.
        Assert.Equal([("node-0", SourceFault.BadBytes), ("node-1", SourceFault.Gone)], rig.Faults.All.Select(f => (f.NodeId, f.Kind)).Order());
        Assert.All(rig.Faults.All, f => Assert.Equal(_sources.Sha256, f.Sha256));
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
        Assert.Empty(rig.Faults.All); // node-1, the last, is the server: never reported (it lists itself only while it holds the blob)
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

    [Fact]
    public async Task HoldersStillReceiving_AreAskedOnlyForThePiecesTheySayTheyHave_AndAgainOnceTheirWordIsStale()
    {
        // Both holders (node-1 is the server) have verified the odd pieces so far. Before a holder has said anything,
        // its first requests are blind (at most PiecesPerSource each); after that, only for the pieces it has.
        using var rig = new SwarmRig(TimeSpan.FromSeconds(30));
        _sources.Holds = new HashSet<int> { 1, 3, 5, 7 };
        _sources.Set(SwarmRig.Bytes(8 * Piece, 10), Piece, SourceMode.Partial, SourceMode.Partial);
        var progress = new ByteProgress();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var fetch = rig.FetchAsync(_sources, progress);
        await Eventually.TrueAsync(() => progress.Value >= 4 * Piece, "the four pieces the holders have, verified");
        var refusals = _sources.Answers(0).Concat(_sources.Answers(1)).Count(a => a.Status == 503);

        // Blind first requests, then at most one probe per holder each Retry-After (1 s) once what it said is stale; in
        // index order without bitfields the even pieces came first again after every 503, and the odd ones never came.
        Assert.InRange(refusals, 0, 2 * (rig.Options.PiecesPerSource + 1 + (int)clock.Elapsed.TotalSeconds));
        Assert.False(fetch.IsCompleted);

        // Now they have every piece: once what they said is stale (Retry-After), they are asked again, and send the rest.
        _sources.Holds = Enumerable.Range(0, 8).ToHashSet();
        var result = await fetch;

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.Equal(0, rig.Stats.SourcesDropped);
    }

    [Fact]
    public async Task AHolderClaimingEveryPieceButRefusingThemAll_IsAskedOncePerRetryAfter_NotFlooded()
    {
        // node-0 (ranked first) says it has every piece and refuses each; node-1, the server, sends nothing until the
        // gate opens, so for 2.5 s node-0 is the only source with an answer.
        using var rig = new SwarmRig(TimeSpan.FromSeconds(30));
        _sources.GateFrom = 0;
        _sources.Set(SwarmRig.Bytes(8 * Piece, 11), Piece, SourceMode.Claims, SourceMode.Gated);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var fetch = rig.FetchAsync(_sources);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var asked = _sources.Requests(0);
        var elapsed = clock.Elapsed;
        _sources.OpenGate();
        var result = await fetch;

        // Its blind first requests, then a pair per Retry-After (1 s) at most: under 10 in 2.5 s (a flood: thousands).
        Assert.InRange(asked, 1, rig.Options.PiecesPerSource * (2 + (int)Math.Ceiling(elapsed.TotalSeconds)));
        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
    }

    /// <summary>
    /// The start of a pass: the server lacks the blob and lists its holders, among them a PC it has just handed the blob,
    /// which answers 404 until its own fetch has a piece list. It is asked again (not dropped), and once it serves the
    /// same list the fetch takes pieces from it too: here the one holder that served a list at first stalls after a
    /// piece, so without the late holder the fetch fails.
    /// </summary>
    [Fact]
    public async Task AHolderAnswering404ForItsPieceListAtFirst_IsAskedAgain_AndServesOnceItHasTheList()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(2));
        _sources.GateFrom = 1;
        _sources.Set(SwarmRig.Bytes(8 * Piece, 12), Piece, SourceMode.Gated, SourceMode.LateList, SourceMode.NotFound);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.True(rig.Log.Has(489, "node-1"), rig.Log.ToString());
        Assert.Equal(2, _sources.ListRequests.Count(r => r == "1:LateList")); // its 404, then its list
        Assert.Contains(_sources.Answers(1), a => a.Status == 206);
        Assert.False(rig.Log.Has(481, "node-1"), rig.Log.ToString()); // never dropped
    }

    /// <summary>
    /// The server's own list, a peer listed with it answering 404 for a piece before it has begun: asked for its list
    /// instead of dropped, and fetched from once it serves the server's list (here the server stalls after a piece).
    /// </summary>
    [Fact]
    public async Task APeerAnswering404ForAPieceBeforeItServedAnything_JoinsOnceItServesTheServersList()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(2));
        _sources.GateFrom = 1;
        _sources.Set(SwarmRig.Bytes(8 * Piece, 13), Piece, SourceMode.LateList, SourceMode.Gated);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.True(rig.Log.Has(489, "node-0"), rig.Log.ToString());
        Assert.Contains(_sources.Answers(0), a => a.Status == 404);
        Assert.Contains(_sources.Answers(0), a => a.Status == 206);
    }

    /// <summary>
    /// A holder that answers 404 for good (it evicted the blob) is asked for its list a bounded number of times, then
    /// dropped: with every other source failed, the fetch fails (the caller goes to the internet), it does not wait on.
    /// </summary>
    [Fact]
    public async Task AHolderAnswering404ForGood_IsAskedABoundedNumberOfTimes_ThenDropped()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(2));
        _sources.BadPiece = 0;
        _sources.Set(SwarmRig.Bytes(1 * Piece, 14), Piece, SourceMode.BadPiece, SourceMode.NotFound, SourceMode.NotFound);

        var result = await rig.FetchAsync(_sources);

        Assert.False(result.Ok);
        Assert.Contains("every LAN source failed", result.Error, StringComparison.Ordinal);
        Assert.True(result.Error!.Contains($"still after {SwarmFetcher.LateListAsks} asks", StringComparison.Ordinal), result.Error + "\n" + rig.Log);
        Assert.Equal(1 + SwarmFetcher.LateListAsks, _sources.ListRequests.Count(r => r == "1:NotFound"));
        Assert.Equal(1, _sources.ListRequests.Count(r => r == "2:NotFound")); // the server's 404: dropped at once
        Assert.True(rig.Log.Has(481, "node-2"), rig.Log.ToString());
        Assert.False(rig.Store.Contains(_sources.Sha256));
        Assert.Equal(0, rig.TempFiles);
    }

    /// <summary>
    /// Two holder lists (a forger's, ranked first, and the true one) and a late holder still answering 404 when the
    /// forger's run fails as a whole: the late holder does not keep the true list from being tried.
    /// </summary>
    [Fact]
    public async Task ALateHolderStillWaitingWhenAForgedListFails_DoesNotStopTheNextList()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(2));
        _sources.GateFrom = int.MaxValue;
        _sources.LateAnswers = 4; // its first ask and 3 more (1.75 s): the forger's run has failed long before
        _sources.Set(SwarmRig.Bytes(8 * Piece, 15), Piece, SourceMode.Forger, SourceMode.Good, SourceMode.LateList, SourceMode.NotFound);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, result.Error + "\n" + rig.Log);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.True(rig.Log.Has(481, "node-0"), rig.Log.ToString()); // the forger, dropped when its run failed as a whole
        Assert.False(rig.Log.Has(481, "node-1") || rig.Log.Has(481, "node-2"), rig.Log.ToString());
    }

    /// <summary>
    /// The same, with the late holder serving the true list while the forger's run is still on: it leaves that run
    /// (not blamed: one holder's list against another's), and serves in the true list's run.
    /// </summary>
    [Fact]
    public async Task ALateHolderServingAnotherHoldersList_LeavesTheRunUnblamed_AndServesInThatListsRun()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(5));
        _sources.GateFrom = 1; // the forger answers one piece, then holds the others until the gate opens
        _sources.LateAnswers = 1;
        _sources.Set(SwarmRig.Bytes(8 * Piece, 16), Piece, SourceMode.Forger, SourceMode.Good, SourceMode.LateList, SourceMode.NotFound);

        var fetch = rig.FetchAsync(_sources);
        await Eventually.TrueAsync(() => rig.Log.Has(490, "node-2"), "the late holder's list handled: another holder's");
        _sources.OpenGate();
        var result = await fetch;

        Assert.True(result.Ok, result.Error + "\n" + rig.Log);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.Equal(2, _sources.ListRequests.Count(r => r == "2:LateList")); // joined the true list's run without another ask
        Assert.Contains(_sources.Answers(2), a => a.Status == 206);
        Assert.False(rig.Log.Has(481, "node-2"), rig.Log.ToString());
        Assert.True(rig.Log.Has(481, "node-0"), rig.Log.ToString());
    }

    /// <summary>
    /// A late holder whose list check is still out when the forger's run fails as a whole (the holder holds that answer;
    /// the check's own bound is 2 s, and the forger's run ends within milliseconds of the gate): the check is cancelled
    /// with that run, and the holder is asked again in the true list's run, where it is needed (the true list's other
    /// holder has one piece only). Without its count given back it was never asked again, and the fetch waited on.
    /// </summary>
    [Fact]
    public async Task ALateHolderWhoseListCheckWasCutWithARun_IsAskedAgainInTheNextListsRun()
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(5));
        _sources.GateFrom = 1;
        _sources.LateAnswers = 1;
        _sources.SecondListDelay = TimeSpan.FromSeconds(3);
        _sources.Holds = new HashSet<int> { 0 };
        _sources.Set(SwarmRig.Bytes(6 * Piece, 17), Piece, SourceMode.Forger, SourceMode.Partial, SourceMode.LateList, SourceMode.NotFound);

        var fetch = rig.FetchAsync(_sources);
        await Eventually.TrueAsync(() => _sources.ListRequests.Count(r => r == "2:LateList") >= 2, "the late holder's second ask (held)");
        _sources.OpenGate(); // the forger's run ends now, its check to the late holder still out
        var result = await fetch.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.Ok, result.Error + "\n" + rig.Log);
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.True(_sources.ListRequests.Count(r => r == "2:LateList") >= 3); // asked again after the cut one
        Assert.Contains(_sources.Answers(2), a => a.Status == 206);
        Assert.True(rig.Log.Has(481, "node-0"), rig.Log.ToString());
    }
}
