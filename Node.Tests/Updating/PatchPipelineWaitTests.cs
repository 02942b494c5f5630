using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>
/// Another node holds the claim: the pipeline waits as the server says (jittered, on the fake clock), takes the
/// holder's bytes through the server while that works, and gives up for the internet at its deadline.
/// </summary>
public sealed class PatchPipelineWaitTests
{
    private static readonly TimeSpan Quarter = TimeSpan.FromMilliseconds(250);

    [Fact]
    public async Task InFlight_WaitsAsTheServerSays_AsksAgain_AndTakesTheHitFromTheLan()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.InFlight(250), PipelineRig.InFlight(250), PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);
        var progress = new PatchProgress();

        var run = rig.RunAsync(patch, progress: progress);
        await rig.Time.WaitForTimerAsync(Quarter);
        Assert.Equal(ProgressStage.Waiting, progress.Snapshot()?.Stage);
        rig.Time.Advance(Quarter - TimeSpan.FromTicks(1));
        await Task.Delay(50);
        Assert.Single(rig.Server.Lookups); // not one tick early
        rig.Time.Advance(TimeSpan.FromTicks(1));
        await rig.Time.FireAsync(Quarter, count: 2);
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Equal(3, rig.Server.Lookups.Count);
        Assert.Equal(0, rig.Internet.TotalRequests);
        Assert.Equal(2, rig.Log.Count(414));
        Assert.Equal((1.0, 1.0), await rig.ClaimWaitsAsync()); // one wait, observed once when it ended
    }

    [Theory]
    [InlineData(0.0, 200)]
    [InlineData(0.5, 250)]
    [InlineData(0.99, 299)]
    public async Task TheWaitIsJitteredByTheInjectedRandom_WithinAFifthOfWhatTheServerSays(double unit, int expectedMs)
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Random.Unit = unit;
        rig.Server.Answer(PipelineRig.InFlight(250), PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);

        var run = rig.RunAsync(patch);
        static bool IsTheWait(TimeSpan due) => due > TimeSpan.FromMilliseconds(100) && due < TimeSpan.FromSeconds(1);
        await Eventually.TrueAsync(() => rig.Time.Created.Any(IsTheWait), "the wait's timer");
        var delay = rig.Time.Created.Single(IsTheWait);
        rig.Time.Advance(delay);

        Assert.True((await Eventually.Within(run, "the pass")).Applied);
        Assert.InRange(delay.TotalMilliseconds, expectedMs - 0.001, expectedMs + 0.001);
    }

    [Fact]
    public async Task TheServersRetryAfter_IsNeverTakenBelowFiftyMilliseconds()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.InFlight(0), PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);

        var run = rig.RunAsync(patch);
        await rig.Time.FireAsync(TimeSpan.FromMilliseconds(50));

        Assert.True((await Eventually.Within(run, "the pass")).Applied);
    }

    [Fact]
    public async Task WaitingPastClaimWaitMax_FallsBackToTheInternet_AndSaysWhy()
    {
        using var rig = new PipelineRig();
        rig.Options.ClaimWaitMax = TimeSpan.FromSeconds(1);
        var (patch, _) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.InFlight(400));
        var wait = TimeSpan.FromMilliseconds(400);

        var run = rig.RunAsync(patch);
        for (var i = 1; i <= 3; i++)
        {
            await rig.Time.FireAsync(wait, count: i);
        }

        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Internet, outcome.From);
        Assert.Equal(4, rig.Server.Lookups.Count); // at 0, 0.4, 0.8 and 1.2 s: past the deadline
        Assert.True(rig.Log.Has(412, "KB1: falling back to the internet: waited 00:00:01 for another node's download"), rig.Log.ToString());
        Assert.Equal(1, rig.Stats.ServerFallbacks);
        Assert.Contains(rig.Events.Recent(10), e => e.Kind == NodeEventKinds.Fallback && e.Message.Contains("KB1: waited", StringComparison.Ordinal));
        Assert.Equal((1.0, 1.0), await rig.ClaimWaitsAsync());
    }

    [Fact]
    public async Task InFlightWithAStream_TakesTheHoldersBytesThroughTheServer_WithoutWaiting()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        var (relative, absolute) = rig.BlobUrl(patch);
        rig.Server.Answer(PipelineRig.InFlight(250, relative));
        rig.Lan.Serve(absolute, bytes);

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal((Origin.Lan, (long)bytes.Length), (outcome.From, outcome.Bytes));
        Assert.Single(rig.Server.Lookups);
        Assert.Equal(0, rig.Internet.TotalRequests);
        Assert.True(rig.Log.Has(422, $"KB1: streamed from server.test as it was downloaded ({bytes.Length} bytes)"), rig.Log.ToString());
        Assert.Equal((1.0, 1.0), await rig.ClaimWaitsAsync());
    }

    [Fact]
    public async Task AStreamThatBreaksOff_IsTriedTwice_ThenTheWaiterWaitsForTheHit_AndNeverAppliesWrongBytes()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        var (relative, absolute) = rig.BlobUrl(patch);
        rig.Server.Answer(PipelineRig.InFlight(250, relative), PipelineRig.InFlight(250, relative), PipelineRig.InFlight(250, relative), PipelineRig.Hit(patch));
        var wrong = PipelineRig.Flipped(bytes);
        rig.Lan.Serve(absolute, () => FakeWeb.Body(wrong), () => FakeWeb.Body(wrong), () => FakeWeb.Body(bytes));

        var run = rig.RunAsync(patch);
        for (var i = 1; i <= 3; i++)
        {
            await rig.Time.FireAsync(Quarter, count: i);
        }

        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Equal(4, rig.Server.Lookups.Count);
        Assert.Equal(3, rig.Lan.Requests(absolute)); // two streams, no third, then the hit
        Assert.Equal(2, rig.Stats.LanFailures);
        Assert.True(rig.Log.Has(423, "of 2 allowed"), rig.Log.ToString());
        Assert.Equal(2, rig.Log.Count(423));
        Assert.Equal([("KB1", patch.Sha256)], rig.Applier.Applied);
        Assert.Equal(0, rig.Internet.TotalRequests);
    }

    [Fact]
    public async Task AStreamNotThereYet_IsNoFailure_TheWaiterAsksAgain()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        var (relative, absolute) = rig.BlobUrl(patch);
        rig.Server.Answer(PipelineRig.InFlight(250, relative), PipelineRig.Hit(patch));
        rig.Lan.Serve(absolute, () => FakeWeb.Status(System.Net.HttpStatusCode.NotFound), () => FakeWeb.Body(bytes));

        var run = rig.RunAsync(patch);
        await rig.Time.FireAsync(Quarter);
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(0, rig.Stats.LanFailures);
        Assert.Equal(0, rig.Log.Count(423));
        Assert.Equal(2, rig.Lan.Requests(absolute));
    }

    [Fact]
    public async Task ABusyServer_IsNotWaitedForOnAStream_TheWaiterAsksAgain_AndTakesTheHit()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        var (relative, absolute) = rig.BlobUrl(patch);
        rig.Server.Answer(PipelineRig.InFlight(250, relative), PipelineRig.Hit(patch));
        var busy = new Func<HttpResponseMessage>(() =>
        {
            var answer = FakeWeb.Status(System.Net.HttpStatusCode.ServiceUnavailable);
            answer.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
            return answer;
        });
        rig.Lan.Serve(absolute, busy, () => FakeWeb.Body(bytes));

        var run = rig.RunAsync(patch);
        await rig.Time.FireAsync(Quarter); // the server's Retry-After of its lookup answer, not the blob's 1 s
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Equal(2, rig.Server.Lookups.Count); // asked again, and the second answer was the hit
        Assert.Equal(2, rig.Lan.Requests(absolute));
        Assert.Equal(0, rig.Stats.LanFailures);
        Assert.Equal(0, rig.Log.Count(423)); // a busy server is no broken stream
    }

    [Fact]
    public async Task AWaitEndedByTheServerGoingAway_IsObserved_AsEveryCountedWaitIs()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.InFlight(250), FakeServerChannel.Gone("connection lost"));

        var run = rig.RunAsync(patch);
        await rig.Time.FireAsync(Quarter);
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.True(rig.Log.Has(412, "KB1: falling back to the internet: LAN server server.test unavailable (connection lost)"), rig.Log.ToString());
        Assert.Equal((1.0, 1.0), await rig.ClaimWaitsAsync());
    }

    [Fact]
    public async Task ADeadlinePassedBeforeAnyWait_ObservesNoWait()
    {
        using var rig = new PipelineRig();
        rig.Options.ClaimWaitMax = TimeSpan.FromMilliseconds(500);
        var (patch, _) = rig.Patch("KB1");
        rig.Server.Answer(_ =>
        {
            rig.Time.Advance(TimeSpan.FromSeconds(1)); // a slow answer
            return LookupResult.InFlight(0, 250);
        });

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.True(rig.Log.Has(412, "waited 00:00:00.5000000 for another node's download"), rig.Log.ToString());
        Assert.Equal((0.0, 0.0), await rig.ClaimWaitsAsync());
    }
}
