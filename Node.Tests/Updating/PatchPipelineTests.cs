using PeerPatch.Protocol.Status;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Transport;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>
/// The pipeline's main paths with a fake server, a fake internet, a fake applier and a fake clock: a hit, a miss
/// under a claim (renew, push, release), and the verify and apply steps.
/// </summary>
public sealed class PatchPipelineTests
{
    [Fact]
    public async Task Hit_TheServersCopyComesOverTheLan_IsAppliedAndRecorded_AndTheInternetIsNeverAsked()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal((Origin.Lan, (long)bytes.Length), (outcome.From, outcome.Bytes));
        Assert.Equal(0, rig.Internet.TotalRequests);
        Assert.Equal([("KB1", patch.Sha256)], rig.Applier.Applied);
        Assert.True(rig.Db.IsApplied(patch.OsVersion, patch.Name, patch.Sha256));
        Assert.Equal(bytes.Length, rig.Stats.LanBytesFetched);
        var asked = Assert.Single(rig.Server.Lookups);
        Assert.Equal((patch.Name, patch.Sha256, patch.Size, rig.Self.NodeId), (asked.PatchName, asked.ExpectedSha256, asked.ExpectedSize, asked.NodeId));
        Assert.True(rig.Log.Has(410, "applied KB1"), rig.Log.ToString());
    }

    [Fact]
    public async Task OwnCopy_IsAppliedWithoutAskingTheServer()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        await rig.PutInStoreAsync(patch, bytes);
        rig.Server.Answer(FakeServerChannel.Gone("must not be asked"));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal((Origin.Lan, 0L), (outcome.From, outcome.Bytes));
        Assert.Empty(rig.Server.Lookups);
        Assert.Equal(0, rig.Internet.TotalRequests);
    }

    [Fact]
    public async Task Miss_DownloadsOnceUnderTheClaim_PushesToTheServer_AndApplies()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.Miss(42));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal((Origin.Internet, (long)bytes.Length), (outcome.From, outcome.Bytes));
        Assert.Equal(1, rig.Internet.Requests(patch.Url));
        Assert.Equal([(patch.Sha256, 42UL, false)], rig.Server.Pushes);
        Assert.Empty(rig.Server.Releases);
        Assert.Equal(patch.Sha256, rig.StoredSha(patch));
        Assert.True(rig.Log.Has(413, "KB1: LAN miss, downloading http://internet.test/files/KB1.bin under claim 42"), rig.Log.ToString());
        Assert.True(rig.Log.Has(415, "KB1: pushed to server.test"), rig.Log.ToString());
        Assert.Equal(0, rig.Stats.ServerFallbacks);
    }

    [Fact]
    public async Task Miss_WhoseCutThroughPushDeliveredTheBody_OnlyReportsThePushDone()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.Miss(42));
        rig.Server.StreamPush = (_, _) => Task.FromResult(true);

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal([(patch.Sha256, 42UL, true)], rig.Server.Pushes);
    }

    [Fact]
    public async Task Miss_RenewsTheClaimEveryThirdOfItsLease_WithTheBytesSoFar_AndStopsWhenTheDownloadEnds()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1", size: 200_000);
        var body = new PausingStream(bytes, pauseAt: 80_000);
        rig.Internet.Serve(patch.Url, () => FakeWeb.Streamed(body, bytes.Length));
        rig.Server.Answer(PipelineRig.Miss(42, leaseMs: 15_000));

        var run = rig.RunAsync(patch);
        await body.Paused.WaitAsync(Eventually.Bound);
        await rig.Time.FireAsync(TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => rig.Server.Renewals.Count == 1, "a renewal");
        await rig.Time.FireAsync(TimeSpan.FromSeconds(5), count: 2); // once the loop waits again: advanced before, its timer would start after
        await Eventually.TrueAsync(() => rig.Server.Renewals.Count == 2, "a second renewal");
        body.Resume();
        var outcome = await Eventually.Within(run, "the pass");
        rig.Time.Advance(TimeSpan.FromSeconds(30));

        Assert.True(outcome.Applied, outcome.Error);
        Assert.All(rig.Server.Renewals, r => Assert.Equal(42UL, r.ClaimId));
        Assert.All(rig.Server.Renewals, r => Assert.InRange(r.Bytes, 1, 80_000));
        Assert.Equal(2, rig.Server.Renewals.Count); // none after the download ended
    }

    [Fact]
    public async Task Miss_AfterTheDownload_TheClaimIsRenewedUntilItsPushIsDone()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1", size: 200_000);
        rig.Internet.Serve(patch.Url, () => FakeWeb.Body(bytes));
        var pushing = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Server.StreamPush = (_, ct) => pushing.Task.WaitAsync(ct); // the cut-through push lags the download
        rig.Server.Answer(PipelineRig.Miss(42, leaseMs: 15_000));

        var run = rig.RunAsync(patch);
        await Eventually.TrueAsync(() => rig.Store.Contains(patch.Sha256), "the download");
        await rig.Time.FireAsync(TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => rig.Server.Renewals.Count == 1, "a renewal during the push");
        await rig.Time.FireAsync(TimeSpan.FromSeconds(5), count: 2);
        await Eventually.TrueAsync(() => rig.Server.Renewals.Count == 2, "a second renewal during the push");
        pushing.SetResult(true);
        var outcome = await Eventually.Within(run, "the pass");
        rig.Time.Advance(TimeSpan.FromSeconds(30));

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal([(42UL, 200_000L), (42UL, 200_000L)], rig.Server.Renewals); // the whole download, while the push ran
        Assert.Equal([(patch.Sha256, 42UL, true)], rig.Server.Pushes);
    }

    [Fact]
    public async Task Miss_WhenAnElectionMovesTheLanToAnotherServer_TheClaimIsRenewedThereAtOnce_NamingItsPatch_AndThePushFollows()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1", size: 200_000);
        var body = new PausingStream(bytes, pauseAt: 80_000);
        rig.Internet.Serve(patch.Url, () => FakeWeb.Streamed(body, bytes.Length));
        rig.Server.Answer(PipelineRig.Miss(42, leaseMs: 15_000));
        var oldStreamStopped = new TaskCompletionSource();
        rig.Server.StreamPush = async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default);
            oldStreamStopped.TrySetResult();
            return false;
        };
        var next = new FakeServerChannel("next.test") { StreamPush = (_, _) => Task.FromResult(true) };

        var run = rig.RunAsync(patch);
        await body.Paused.WaitAsync(Eventually.Bound);
        rig.Servers.Current = next; // elected; the clock does not move, so only the change can bring a renewal
        await Eventually.TrueAsync(() => next.RenewMessages.Count == 1, "a renewal to the new server");
        await oldStreamStopped.Task.WaitAsync(Eventually.Bound);
        body.Resume();
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        var renew = Assert.Single(next.RenewMessages);
        Assert.Equal((42UL, patch.OsVersion, patch.Name, patch.Sha256, patch.Size, rig.Self.NodeId), (renew.ClaimId, renew.OsVersion, renew.PatchName, renew.Sha256, renew.Size, renew.NodeId));
        Assert.InRange(renew.BytesDone, 1, 80_000);
        Assert.True(renew.IsValid());
        Assert.Empty(rig.Server.Renewals); // no period passed
        Assert.Empty(rig.Server.Pushes);
        Assert.Equal([(patch.Sha256, 42UL, true)], next.Pushes); // the new server got the body by the moved cut-through push
        Assert.True(rig.Log.Has(428, "KB1: the LAN server changed from server.test to next.test during the download; claim 42 and its push follow"), rig.Log.ToString());
    }

    [Fact]
    public async Task Miss_WhenTheServerChangesWhileARenewalToTheDeadOneIsInFlight_TheNewServerIsRenewedAtOnce()
    {
        // A renewal already in flight to the dead server must not hold the move: in production it ends only after
        // LookupTimeout (2 s) or ConnectTimeout (2 s), as long as the new server's settle time, and a miss from another
        // PC after the settle time would be granted before the holder's claim is adopted (found in review).
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1", size: 200_000);
        var body = new PausingStream(bytes, pauseAt: 80_000);
        rig.Internet.Serve(patch.Url, () => FakeWeb.Streamed(body, bytes.Length));
        rig.Server.Answer(PipelineRig.Miss(42, leaseMs: 15_000));
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Server.RenewDelay = (_, ct) => answer.Task.WaitAsync(ct); // the old server died: its answer does not come
        var next = new FakeServerChannel("next.test");

        var run = rig.RunAsync(patch);
        await body.Paused.WaitAsync(Eventually.Bound);
        await rig.Time.FireAsync(TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => rig.Server.Renewals.Count == 1, "a renewal to the old server");
        rig.Servers.Current = next; // elected; the clock does not move
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (next.RenewMessages.IsEmpty && watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            await Task.Delay(10);
        }

        var followedAtOnce = !next.RenewMessages.IsEmpty;
        answer.TrySetException(new LanUnavailableException("no answer within 00:00:02")); // the request timeout ends it
        body.Resume();
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.True(followedAtOnce, "no renewal reached the new server while the one to the dead server was in flight");
    }

    [Fact]
    public async Task Miss_WhenTheSameServerOpensANewSession_TheClaimIsRenewedAtOnce_AndAFailedStreamPushStartsAgain()
    {
        // A restarted server (same address, new session) has forgotten the claim and the cut-through push it was
        // receiving: the holder renews at once (so the restarted server adopts the claim) and pushes the stream again.
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1", size: 200_000);
        var body = new PausingStream(bytes, pauseAt: 80_000);
        rig.Internet.Serve(patch.Url, () => FakeWeb.Streamed(body, bytes.Length));
        rig.Server.Answer(PipelineRig.Miss(42, leaseMs: 15_000));
        var streamPushes = 0;
        rig.Server.StreamPush = (_, _) => Task.FromResult(Interlocked.Increment(ref streamPushes) > 1); // the first died with the old session

        var run = rig.RunAsync(patch);
        await body.Paused.WaitAsync(Eventually.Bound);
        await Eventually.TrueAsync(() => Volatile.Read(ref streamPushes) == 1, "the first stream push");
        rig.Servers.OpenSession(rig.Server); // the clock does not move: only the new session can bring what follows
        await Eventually.TrueAsync(() => rig.Server.RenewMessages.Count == 1 && Volatile.Read(ref streamPushes) == 2, "a renewal and a second stream push");
        body.Resume();
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(patch.Sha256, Assert.Single(rig.Server.RenewMessages).Sha256);
        Assert.Equal([(patch.Sha256, 42UL, true)], rig.Server.Pushes); // the second stream push delivered the body
    }

    [Fact]
    public async Task Miss_WhenTheClaimIsRevoked_OrARenewalFails_TheDownloadGoesOnAnyway()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1", size: 200_000);
        var body = new PausingStream(bytes, pauseAt: 80_000);
        rig.Internet.Serve(patch.Url, () => FakeWeb.Streamed(body, bytes.Length));
        rig.Server.Answer(PipelineRig.Miss(42, leaseMs: 3_000));
        var renewals = 0;
        rig.Server.Renew = _ => ++renewals == 1 ? throw new LanUnavailableException("no answer") : false;

        var run = rig.RunAsync(patch);
        await body.Paused.WaitAsync(Eventually.Bound);
        await rig.Time.FireAsync(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => rig.Log.Count(418) == 1, "the failed renewal logged");
        await rig.Time.FireAsync(TimeSpan.FromSeconds(1), count: 2);
        await Eventually.TrueAsync(() => rig.Log.Count(417) == 1, "the revoked claim logged");
        rig.Time.Advance(TimeSpan.FromSeconds(5));
        body.Resume();
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Internet, outcome.From);
        Assert.Equal(2, rig.Server.Renewals.Count); // the revoked claim is not renewed again
        Assert.Single(rig.Server.Pushes); // the server decides what a push under a lost claim is worth
    }

    [Fact]
    public async Task Miss_WhenTheDownloadFails_ReleasesTheClaim_FailsThePatch_AndPushesNothing()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        rig.Internet.Serve(patch.Url, () => FakeWeb.Status(System.Net.HttpStatusCode.NotFound));
        rig.Server.Answer(PipelineRig.Miss(42));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.False(outcome.Applied);
        Assert.Contains("upstream answered 404", outcome.Error);
        var released = Assert.Single(rig.Server.Releases);
        Assert.Equal(42UL, released.ClaimId);
        Assert.Contains("upstream answered 404", released.Reason);
        Assert.Empty(rig.Server.Pushes);
        Assert.Empty(rig.Applier.Applied);
        Assert.Null(rig.StoredSha(patch));
    }

    [Fact]
    public async Task Miss_WhenThePushFails_ThePatchIsStillApplied_AndTheFailureLogged()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.Miss(42));
        rig.Server.Push = () => throw new LanUnavailableException("server refused the push: 507");

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.True(rig.Log.Has(416, "KB1: push to server.test failed: server refused the push: 507"), rig.Log.ToString());
    }

    [Fact]
    public async Task ACopyThatChangedOnDisk_IsNotApplied()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        await rig.PutInStoreAsync(patch, bytes);
        var file = rig.Store.PathFor(patch.Sha256);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllBytesAsync(file, PipelineRig.Flipped(bytes));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.False(outcome.Applied);
        Assert.Equal("local copy no longer matches its SHA-256; not applied", outcome.Error);
        Assert.Empty(rig.Applier.Applied);
        Assert.False(rig.Db.IsApplied(patch.OsVersion, patch.Name, patch.Sha256));
    }

    [Fact]
    public async Task AFailedApplyCommand_IsThePatchsError_AndNotRecordedAsApplied()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        await rig.PutInStoreAsync(patch, bytes);
        rig.Applier.Error = "apply command exited with 3: no space";

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.False(outcome.Applied);
        Assert.Equal("apply command exited with 3: no space", outcome.Error);
        Assert.False(rig.Db.IsApplied(patch.OsVersion, patch.Name, patch.Sha256));
        Assert.Equal(0, rig.Stats.Applied);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ADryRun_ObtainsAndVerifies_RunsOnlyAStagingStep_AndRecordsNothing(bool stages)
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        patch = patch with { Apply = patch.Apply with { Stages = stages } };
        rig.Server.Answer(PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);

        var outcome = await Eventually.Within(rig.RunAsync(patch, dryRun: true), "the pass");

        Assert.True(outcome.DryRun);
        Assert.False(outcome.Applied);
        Assert.Null(outcome.Error);
        Assert.Equal(patch.Sha256, rig.StoredSha(patch));
        Assert.Equal(stages ? 1 : 0, rig.Applier.Applied.Count);
        Assert.False(rig.Db.IsApplied(patch.OsVersion, patch.Name, patch.Sha256));
    }

    [Fact]
    public async Task APatchListedWithoutATrustworthyHash_IsNeverFetched()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.Miss(42));

        var outcome = await Eventually.Within(rig.RunAsync(patch with { Unverifiable = "the list gives no SHA-256" }), "the pass");

        Assert.False(outcome.Applied);
        Assert.Equal("the list gives no SHA-256", outcome.Error);
        Assert.Empty(rig.Server.Lookups);
        Assert.Equal(0, rig.Internet.TotalRequests);
    }
}
