using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>
/// A pass obtains several patches at once (<see cref="ObtainWindow"/>) and still verifies and applies them one at a
/// time in list order; a patch another node is downloading is set aside, not waited for, while others can start.
/// </summary>
public sealed class ObtainWindowTests
{
    [Theory]
    [InlineData(4)]
    [InlineData(1)]
    public async Task WhileTheFirstPatchStalls_TheOthersAreObtainedAlongside_OnlyWithAWindow_AndAllAreAppliedInListOrder(int concurrency)
    {
        using var rig = new PipelineRig();
        rig.Options.ObtainConcurrency = concurrency;
        var patches = Enumerable.Range(0, 5).Select(i => rig.Patch($"KB{i}", seed: i)).ToList();
        rig.Server.Answer(HitFor);
        var stalled = new PausingStream(patches[0].Bytes, pauseAt: 1000);
        rig.Lan.Serve(rig.BlobUrl(patches[0].Patch).Absolute, () => FakeWeb.Streamed(stalled, patches[0].Bytes.Length));
        foreach (var (patch, bytes) in patches.Skip(1))
        {
            rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);
        }

        var runner = Runner(rig, patches.Select(p => p.Patch));
        var pass = runner.RunAsync(null, dryRun: false, CancellationToken.None);
        await Eventually.TrueAsync(() => stalled.Paused.IsCompleted, "the first patch's stalled body");
        if (concurrency > 1)
        {
            await Eventually.TrueAsync(() => patches.Skip(1).All(p => rig.Store.Contains(p.Patch.Sha256)), "the other four in the store");
        }
        else
        {
            await Task.Delay(200);
            Assert.All(patches.Skip(1), p => Assert.False(rig.Store.Contains(p.Patch.Sha256)));
            Assert.Single(rig.Server.Lookups);
        }

        Assert.Empty(rig.Applier.Applied); // the first in the list is not here yet: nothing is applied before it
        stalled.Resume();
        var summary = await Eventually.Within(pass, "the pass");

        Assert.NotNull(summary);
        Assert.Equal(5, summary.Applied);
        Assert.Equal(0, summary.Failed);
        Assert.Equal(patches.Select(p => p.Patch.Name), rig.Applier.Applied.Select(a => a.Patch));
        Assert.Equal(patches.Select(p => p.Patch.Sha256), rig.Applier.Applied.Select(a => a.FileSha256));
        Assert.Equal(0, rig.Internet.TotalRequests);
    }

    [Fact]
    public async Task APatchInFlightElsewhere_IsSetAside_TheOthersGoOn_AndNoWaitIsNeeded()
    {
        using var rig = new PipelineRig();
        var patches = Enumerable.Range(0, 4).Select(i => rig.Patch($"KB{i}", seed: i)).ToList();
        var busy = patches[2].Patch; // another node is downloading it when first asked
        var askedForBusy = 0;
        rig.Server.Answer(l => l.PatchName == busy.Name && Interlocked.Increment(ref askedForBusy) == 1 ? LookupResult.InFlight(0, 250) : HitFor(l));
        foreach (var (patch, bytes) in patches)
        {
            rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);
        }

        // The fake clock never moves: a pass that waited for the in-flight patch would not end.
        var summary = await Eventually.Within(Runner(rig, patches.Select(p => p.Patch)).RunAsync(null, dryRun: false, CancellationToken.None), "the pass");

        Assert.NotNull(summary);
        Assert.Equal(4, summary.Applied);
        Assert.Equal(patches.Select(p => p.Patch.Name), rig.Applier.Applied.Select(a => a.Patch));
        Assert.Equal(5, rig.Server.Lookups.Count);
        Assert.Equal(2, rig.Server.Lookups.Count(l => l.PatchName == busy.Name));
        Assert.Equal(1, rig.Log.Count(427));
        Assert.Equal((0.0, 0.0), await rig.ClaimWaitsAsync());
    }

    [Fact]
    public async Task TheLastFreshPatchInReach_IsNotSetAside_ItWaitsAsALonePatchDoes()
    {
        using var rig = new PipelineRig();
        rig.Options.ObtainConcurrency = 2;
        rig.Random.Unit = 0.0; // each random choice takes the first fresh patch in reach: KB0, then KB1
        var (first, firstBytes) = rig.Patch("KB0", seed: 0);
        var (last, lastBytes) = rig.Patch("KB1", seed: 1);
        var askedForLast = 0;
        rig.Server.Answer(l => l.PatchName == last.Name && Interlocked.Increment(ref askedForLast) == 1 ? LookupResult.InFlight(0, 250) : HitFor(l));
        rig.Lan.Serve(rig.BlobUrl(first).Absolute, firstBytes);
        rig.Lan.Serve(rig.BlobUrl(last).Absolute, lastBytes);

        var pass = Runner(rig, [first, last]).RunAsync(null, dryRun: false, CancellationToken.None);
        await rig.Time.FireAsync(TimeSpan.FromMilliseconds(200)); // the server's 250 ms, jittered by the same 0.0: -20 %
        var summary = await Eventually.Within(pass, "the pass");

        Assert.Equal(2, summary?.Applied);
        Assert.Equal(0, rig.Log.Count(427));
        Assert.Equal((1.0, 1.0), await rig.ClaimWaitsAsync());
    }

    [Fact]
    public async Task Obtaining_RunsAtMostTheLookaheadPastThePatchThePassWaitsFor()
    {
        using var rig = new PipelineRig();
        rig.Options.ObtainConcurrency = 2; // lookahead 8: patches 0 to 8 in reach while the pass waits for 0
        var patches = Enumerable.Range(0, 14).Select(i => rig.Patch($"KB{i}", seed: i, size: 10_000)).ToList();
        rig.Server.Answer(HitFor);
        var stalled = new PausingStream(patches[0].Bytes, pauseAt: 1000);
        rig.Lan.Serve(rig.BlobUrl(patches[0].Patch).Absolute, () => FakeWeb.Streamed(stalled, patches[0].Bytes.Length));
        foreach (var (patch, bytes) in patches.Skip(1))
        {
            rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);
        }

        var pass = Runner(rig, patches.Select(p => p.Patch)).RunAsync(null, dryRun: false, CancellationToken.None);
        await Eventually.TrueAsync(() => patches.Skip(1).Take(8).All(p => rig.Store.Contains(p.Patch.Sha256)), "patches 1 to 8 in the store");
        await Task.Delay(200);
        Assert.Equal(patches.Take(9).Select(p => p.Patch.Name).Order(), rig.Server.Lookups.Select(l => l.PatchName).Order());

        stalled.Resume();
        var summary = await Eventually.Within(pass, "the pass");
        Assert.Equal(14, summary?.Applied);
        Assert.Equal(patches.Select(p => p.Patch.Name), rig.Applier.Applied.Select(a => a.Patch));
    }

    [Fact]
    public async Task PatchesAreTakenInARandomOrder()
    {
        using var rig = new PipelineRig();
        rig.Random.Unit = 0.99; // every random choice takes the last patch in reach
        var patches = Enumerable.Range(0, 6).Select(i => rig.Patch($"KB{i}", seed: i, size: 10_000)).ToList();
        rig.Server.Answer(HitFor);
        var bodies = patches.Select(p => new PausingStream(p.Bytes, pauseAt: 100)).ToList();
        for (var i = 0; i < patches.Count; i++)
        {
            var (body, length) = (bodies[i], patches[i].Bytes.Length);
            rig.Lan.Serve(rig.BlobUrl(patches[i].Patch).Absolute, () => FakeWeb.Streamed(body, length));
        }

        var pass = Runner(rig, patches.Select(p => p.Patch)).RunAsync(null, dryRun: false, CancellationToken.None);
        await Eventually.TrueAsync(() => rig.Server.Lookups.Count == 4, "four patches started");
        await Task.Delay(100);

        // All four workers hold a stalled patch: the last ones in reach, not the list's first four.
        Assert.Equal(["KB2", "KB3", "KB4", "KB5"], rig.Server.Lookups.Select(l => l.PatchName).Order());
        bodies.ForEach(b => b.Resume());
        Assert.Equal(6, (await Eventually.Within(pass, "the pass"))?.Applied);
    }

    [Fact]
    public async Task TwoEntriesWithOneHash_AreNotObtainedAtOnce_TheSecondFindsTheFirstsBytes()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        var twin = patch with { Name = "KB1-again" };
        rig.Server.Answer(HitFor);
        var stalled = new PausingStream(bytes, pauseAt: 1000);
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, () => FakeWeb.Streamed(stalled, bytes.Length));

        var pass = Runner(rig, [patch, twin]).RunAsync(null, dryRun: false, CancellationToken.None);
        await Eventually.TrueAsync(() => stalled.Paused.IsCompleted, "the first copy under way");
        await Task.Delay(200);
        Assert.Single(rig.Server.Lookups); // the twin waits for it, not a second lookup and fetch
        stalled.Resume();
        var summary = await Eventually.Within(pass, "the pass");

        Assert.Equal(2, summary?.Applied);
        Assert.Equal(1, rig.Lan.Requests(rig.BlobUrl(patch).Absolute));
        Assert.Single(rig.Server.Lookups);
    }

    [Fact]
    public async Task AWorkerWhoseDownloadIsStored_GoesOnToTheNextPatch_WhileItsPushIsOnTheWay_AndThePassEndsAfterThePush()
    {
        using var rig = new PipelineRig(capacityBytes: 150_000); // room for one of the two patches
        rig.Options.ObtainConcurrency = 1; // one worker: before, it sat in the push and the next patch waited
        var (missed, _) = rig.Patch("KB0", seed: 0);
        var (hit, hitBytes) = rig.Patch("KB1", seed: 1);
        rig.Server.Answer(l => l.PatchName == missed.Name ? LookupResult.Miss(7, 15_000) : HitFor(l));
        rig.Lan.Serve(rig.BlobUrl(hit).Absolute, hitBytes);
        var pushLands = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Server.PushDelay = ct => pushLands.Task.WaitAsync(ct);

        var pass = Runner(rig, [missed, hit]).RunAsync(null, dryRun: false, CancellationToken.None);
        await Eventually.TrueAsync(() => rig.Applier.Applied.Count == 2, "both patches applied while the push is held");
        Assert.Single(rig.Server.Pushes);
        Assert.True(rig.Store.Contains(missed.Sha256));
        await Task.Delay(200);
        Assert.False(pass.IsCompleted); // the claim is still held for the push: the pass waits for it
        Assert.Empty(rig.Server.Releases);

        // The store may not evict a blob on its way to the server, though the pass has applied it: a trim over the cap
        // takes the other one, used later.
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal((1, 100_000L), rig.Store.TrimToCapacity(TimeSpan.Zero));
        Assert.True(rig.Store.Contains(missed.Sha256));
        Assert.False(rig.Store.Contains(hit.Sha256));

        // The claim is renewed (a third of its 15 s lease) while the push is held, so no other PC gets it.
        var renewed = rig.Server.Renewals.Count;
        await rig.Time.FireAsync(TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => rig.Server.Renewals.Count > renewed, "a renewal during the push");

        pushLands.SetResult();
        var summary = await Eventually.Within(pass, "the pass");
        Assert.Equal(2, summary?.Applied);
        Assert.Equal(1, rig.Internet.Requests(missed.Url));
        Assert.Empty(rig.Server.Releases);

        // The push landed: no more renewals, and the blob is evictable again (its in-use mark ended with the push).
        renewed = rig.Server.Renewals.Count;
        rig.Time.Advance(TimeSpan.FromSeconds(20));
        await using (var other = new MemoryStream(hitBytes))
        {
            Assert.True((await rig.Store.WriteAsync(other, hit.Sha256, hit.Size, hit.Size, CancellationToken.None)).Succeeded);
        }

        Assert.False(rig.Store.Contains(missed.Sha256)); // evicted to make room for the new blob
        await Task.Delay(100);
        Assert.Equal(renewed, rig.Server.Renewals.Count);
    }

    [Fact]
    public async Task ADeadlineWhileAPushIsHeld_StopsThePass_WithASummary()
    {
        using var rig = new PipelineRig();
        rig.Options.ObtainConcurrency = 1;
        rig.Options.PassDeadline = TimeSpan.FromMinutes(1);
        var (missed, _) = rig.Patch("KB0", seed: 0);
        var (stalls, stallsBytes) = rig.Patch("KB1", seed: 1);
        rig.Server.Answer(l => l.PatchName == missed.Name ? LookupResult.Miss(7, 15_000) : HitFor(l));
        var stalled = new PausingStream(stallsBytes, pauseAt: 1000);
        rig.Lan.Serve(rig.BlobUrl(stalls).Absolute, () => FakeWeb.Streamed(stalled, stallsBytes.Length));
        rig.Server.PushDelay = ct => Task.Delay(Timeout.Infinite, ct); // a push that never lands

        var pass = Runner(rig, [missed, stalls]).RunAsync(null, dryRun: false, CancellationToken.None);
        await Eventually.TrueAsync(() => stalled.Paused.IsCompleted && rig.Applier.Applied.Count == 1, "KB0 applied, KB1 stalled");
        rig.Time.Advance(TimeSpan.FromMinutes(1));
        var summary = await Eventually.Within(pass, "the pass");

        Assert.NotNull(summary?.Stopped);
        Assert.Equal(1, summary.Applied);
        Assert.Single(rig.Server.Pushes);
    }

    [Fact]
    public async Task PushesStillGoingOn_AreBounded_NoNewPatchStartsBeyondThem()
    {
        using var rig = new PipelineRig();
        rig.Options.ObtainConcurrency = 1; // at most 2 pushes pending
        var patches = Enumerable.Range(0, 4).Select(i => rig.Patch($"KB{i}", seed: i, size: 10_000)).ToList();
        ulong claims = 0;
        rig.Server.Answer(_ => LookupResult.Miss(Interlocked.Increment(ref claims), 15_000)); // every patch a miss
        var pushLands = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Server.PushDelay = ct => pushLands.Task.WaitAsync(ct);

        var pass = Runner(rig, patches.Select(p => p.Patch)).RunAsync(null, dryRun: false, CancellationToken.None);
        await Eventually.TrueAsync(() => rig.Server.Pushes.Count == 2, "two pushes under way");
        await Task.Delay(200);
        Assert.Equal(2, rig.Server.Lookups.Count); // the third patch waits for a push to land
        Assert.Equal(2, rig.Internet.TotalRequests);

        pushLands.SetResult();
        var summary = await Eventually.Within(pass, "the pass");
        Assert.Equal(4, summary?.Applied);
        Assert.Equal(4, rig.Server.Pushes.Count);
    }

    [Fact]
    public async Task APatchWhosePreparationThrows_FailsAlone_TheOthersAreApplied()
    {
        using var rig = new PipelineRig();
        var patches = Enumerable.Range(0, 3).Select(i => rig.Patch($"KB{i}", seed: i)).ToList();
        rig.Server.Answer(l => l.PatchName == "KB1" ? throw new InvalidOperationException("a bug in one patch") : HitFor(l));
        foreach (var (patch, bytes) in patches)
        {
            rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);
        }

        var summary = await Eventually.Within(Runner(rig, patches.Select(p => p.Patch)).RunAsync(null, dryRun: false, CancellationToken.None), "the pass");

        Assert.NotNull(summary);
        Assert.Equal(2, summary.Applied);
        Assert.Equal(1, summary.Failed);
        Assert.Equal(["KB0", "KB2"], rig.Applier.Applied.Select(a => a.Patch));
    }

    private static LookupResult HitFor(Lookup lookup) => LookupResult.Hit(lookup.ExpectedSha256!, lookup.ExpectedSize, $"/v1/blobs/{lookup.ExpectedSha256}");

    private static UpdateRunner Runner(PipelineRig rig, IEnumerable<PatchSpec> patches) =>
        new([new ListSource([.. patches])], rig.Pipeline, rig.Db, rig.Self, rig.Options, rig.Events, rig.Board, rig.Random, rig.Time, new ListLogger<UpdateRunner>());

    private sealed class ListSource(IReadOnlyList<PatchSpec> patches) : IPatchSource
    {
        public string Description => "test list";

        public Task<IReadOnlyList<PatchSpec>> GetPatchesAsync(string osVersion, CancellationToken ct) => Task.FromResult(patches);
    }
}
