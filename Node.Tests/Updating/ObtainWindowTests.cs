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
    public async Task APatchInFlightElsewhere_IsSetAside_TheOthersGoFirst_AndNoWaitIsNeeded()
    {
        using var rig = new PipelineRig();
        var patches = Enumerable.Range(0, 4).Select(i => rig.Patch($"KB{i}", seed: i)).ToList();
        var first = patches[0].Patch;
        var askedForFirst = 0;
        rig.Server.Answer(l => l.PatchName == first.Name && Interlocked.Increment(ref askedForFirst) == 1 ? LookupResult.InFlight(0, 250) : HitFor(l));
        foreach (var (patch, bytes) in patches)
        {
            rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);
        }

        // The fake clock never moves: a pass that waited for the in-flight patch would not end.
        var summary = await Eventually.Within(Runner(rig, patches.Select(p => p.Patch)).RunAsync(null, dryRun: false, CancellationToken.None), "the pass");

        Assert.NotNull(summary);
        Assert.Equal(4, summary.Applied);
        Assert.Equal(patches.Select(p => p.Patch.Name), rig.Applier.Applied.Select(a => a.Patch));
        var lookups = rig.Server.Lookups.Select(l => l.PatchName).ToList();
        Assert.Equal(5, lookups.Count);
        Assert.Equal(2, lookups.Count(n => n == first.Name));
        Assert.Equal(4, lookups.IndexOf(first.Name, 1)); // asked again after every other patch was asked for
        Assert.Equal(1, rig.Log.Count(427));
        Assert.Equal((0.0, 0.0), await rig.ClaimWaitsAsync());
    }

    [Fact]
    public async Task TheLastPatchNotYetStarted_IsNotSetAside_ItWaitsAsALonePatchDoes()
    {
        using var rig = new PipelineRig();
        rig.Options.ObtainConcurrency = 2;
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.InFlight(250), PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);

        var pass = Runner(rig, [patch]).RunAsync(null, dryRun: false, CancellationToken.None);
        await rig.Time.FireAsync(TimeSpan.FromMilliseconds(250));
        var summary = await Eventually.Within(pass, "the pass");

        Assert.Equal(1, summary?.Applied);
        Assert.Equal(0, rig.Log.Count(427));
        Assert.Equal((1.0, 1.0), await rig.ClaimWaitsAsync());
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
