using System.Net;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Transport;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>
/// Whatever goes wrong on the LAN side ends in a direct internet download that says why: no server, a server gone
/// mid-pass (or replaced by an election), a server that lies about the bytes, a server too slow to send them. And the
/// internet download itself retries what is transient, with back-off on the fake clock.
/// </summary>
public sealed class PatchPipelineFaultTests
{
    [Fact]
    public async Task NoServerKnown_WaitsThreeSecondsForAnElection_ThenTakesTheInternet()
    {
        using var rig = new PipelineRig();
        rig.Servers.Current = null;
        var (patch, _) = rig.Patch("KB1");

        var run = rig.RunAsync(patch);
        await rig.Time.WaitForTimerAsync(TimeSpan.FromSeconds(3));
        Assert.False(run.IsCompleted);
        rig.Time.Advance(TimeSpan.FromSeconds(3));
        var outcome = await Eventually.Within(run, "the pass");

        AssertFromTheInternet(rig, patch, outcome, "no LAN server is known");
        Assert.Empty(rig.Server.Lookups);
    }

    [Fact]
    public async Task ServerGoneMidPass_FallsBackToTheInternet_AndSaysWhy()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        rig.Server.Answer(FakeServerChannel.Gone("no answer within 00:00:02"));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        AssertFromTheInternet(rig, patch, outcome, "LAN server server.test unavailable (no answer within 00:00:02)");
        Assert.Contains(rig.Events.Recent(10), e => e.Kind == NodeEventKinds.Fallback);
    }

    [Fact]
    public async Task ServerGone_AfterAnElectionMovedThisNodeOn_TheNewServerIsAsked()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        var elected = new FakeServerChannel("elected.test");
        elected.Answer(PipelineRig.Hit(patch));
        rig.Lan.Serve(new Uri(elected.Base, $"v1/blobs/{patch.Sha256}"), bytes);
        rig.Server.Answer(_ =>
        {
            rig.Servers.Current = elected;
            throw new LanUnavailableException("connection lost");
        });

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Single(elected.Lookups);
        Assert.True(rig.Log.Has(419, "KB1: server server.test is gone; asking the newly elected elected.test"), rig.Log.ToString());
        Assert.Equal(0, rig.Stats.ServerFallbacks);
    }

    [Fact]
    public async Task ServersThatKeepFailing_AreSwitchedOnlyOnce_ThenTheInternet()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        var elected = new FakeServerChannel("elected.test");
        var third = new FakeServerChannel("third.test");
        rig.Server.Answer(_ => { rig.Servers.Current = elected; throw new LanUnavailableException("connection lost"); });
        elected.Answer(_ => { rig.Servers.Current = third; throw new LanUnavailableException("refused"); });

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        AssertFromTheInternet(rig, patch, outcome, "LAN server elected.test unavailable (refused)");
        Assert.Empty(third.Lookups);
    }

    [Fact]
    public async Task ServerServingWrongBytes_IsCaught_AndTheRightBytesComeFromTheInternet()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, PipelineRig.Flipped(bytes));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        AssertFromTheInternet(rig, patch, outcome, "LAN copy rejected");
        Assert.Equal(1, rig.Stats.LanFailures);
    }

    [Fact]
    public async Task ServerAnnouncingTheWrongLength_IsNotRead_AndTheInternetServes()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes[..^100]);

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        AssertFromTheInternet(rig, patch, outcome, $"LAN server announced {bytes.Length - 100} bytes, the list says {bytes.Length}");
        Assert.Equal(1, rig.Stats.LanFailures);
    }

    [Fact]
    public async Task ServerRefusingTheBlob_FallsBackToTheInternet()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.Hit(patch));
        // (A 503 is "busy", asked again after its Retry-After for up to LanBusyWaitMax: LanFetcherBusyTests.)
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, () => FakeWeb.Status(HttpStatusCode.InternalServerError));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        AssertFromTheInternet(rig, patch, outcome, "LAN server answered 500");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AHitWhoseUrlCannotBeResolved_FallsBackToTheInternet_InsteadOfFailingThePatch(bool localServer)
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        var server = new FakeServerChannel(localServer ? "local.test" : "server.test", localServer)
        {
            Resolve = url => localServer
                ? throw new InvalidOperationException($"a local hit for {url} should have been served from the local store")
                : throw new LanUnavailableException("no session with the server"),
        };
        server.Answer(PipelineRig.Hit(patch));
        rig.Servers.Current = server;

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        AssertFromTheInternet(rig, patch, outcome, $"LAN blob URL /v1/blobs/{patch.Sha256} unusable: ");
        Assert.Equal(1, rig.Stats.LanFailures);
    }

    [Fact]
    public async Task ServerStallingMidBlob_IsGivenUpAfterLanStallTimeout_AndTheInternetServes()
    {
        using var rig = new PipelineRig();
        rig.Transfer.LanStallTimeout = TimeSpan.FromSeconds(15);
        var (patch, bytes) = rig.Patch("KB1");
        var body = new PausingStream(bytes, pauseAt: 50_000);
        rig.Server.Answer(PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, () => FakeWeb.Streamed(body, bytes.Length));

        var run = rig.RunAsync(patch);
        await body.Paused.WaitAsync(Eventually.Bound);
        rig.Time.Advance(TimeSpan.FromSeconds(14.9));
        await Task.Delay(50);
        Assert.False(run.IsCompleted, "gave up before the stall bound");
        rig.Time.Advance(TimeSpan.FromSeconds(0.1));
        var outcome = await Eventually.Within(run, "the pass");

        AssertFromTheInternet(rig, patch, outcome, "LAN copy rejected: reading the source failed after 50000 bytes");
        Assert.Equal(1, rig.Stats.LanFailures);
    }

    [Fact]
    public async Task TransientInternetFailures_AreRetriedAfterOneThenTwoSeconds()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(FakeServerChannel.Gone());
        rig.Internet.Serve(patch.Url, () => FakeWeb.Status(HttpStatusCode.ServiceUnavailable), () => FakeWeb.Status(HttpStatusCode.BadGateway), () => FakeWeb.Body(bytes));

        var run = rig.RunAsync(patch);
        await rig.Time.FireAsync(TimeSpan.FromSeconds(1));
        await rig.Time.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(2, rig.Internet.Requests(patch.Url));
        rig.Time.Advance(TimeSpan.FromSeconds(2));
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(3, rig.Internet.Requests(patch.Url));
        Assert.True(rig.InternetLog.Has(400, "download of KB1 failed (attempt 1/3), retrying in 1.0 s: upstream answered 503"), rig.InternetLog.ToString());
        Assert.True(rig.InternetLog.Has(400, "(attempt 2/3), retrying in 2.0 s: upstream answered 502"), rig.InternetLog.ToString());
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, false, 3, "upstream answered 503 Service Unavailable (after 3 attempts)")]
    [InlineData(HttpStatusCode.OK, true, 3, "hash")]
    [InlineData(HttpStatusCode.NotFound, false, 1, "upstream answered 404")]
    [InlineData(HttpStatusCode.Forbidden, false, 1, "upstream answered 403")]
    public async Task AnInternetFailure_IsThePatchsError_AfterItsRetries_AndNothingIsStoredOrApplied(HttpStatusCode status, bool wrongBytes, int requests, string error)
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(FakeServerChannel.Gone());
        rig.Internet.Serve(patch.Url, () => wrongBytes ? FakeWeb.Body(PipelineRig.Flipped(bytes)) : FakeWeb.Status(status));

        var run = rig.RunAsync(patch);
        if (requests > 1)
        {
            await rig.Time.FireAsync(TimeSpan.FromSeconds(1));
            await rig.Time.FireAsync(TimeSpan.FromSeconds(2));
        }

        var outcome = await Eventually.Within(run, "the pass");

        Assert.False(outcome.Applied);
        Assert.Contains(error, outcome.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(requests, rig.Internet.Requests(patch.Url));
        Assert.Null(rig.StoredSha(patch));
        Assert.Empty(rig.Applier.Applied);
        Assert.Empty(Directory.GetFiles(rig.Store.TempDirectory));
    }

    private static void AssertFromTheInternet(PipelineRig rig, PatchSpec patch, PatchOutcome outcome, string reason)
    {
        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal((Origin.Internet, patch.Size), (outcome.From, outcome.Bytes));
        Assert.Equal(1, rig.Internet.Requests(patch.Url));
        Assert.True(rig.Log.Has(412, $"{patch.Name}: falling back to the internet: {reason}"), rig.Log.ToString());
        Assert.Equal(1, rig.Stats.ServerFallbacks);
        Assert.Equal([(patch.Name, patch.Sha256)], rig.Applier.Applied);
        Assert.Equal(patch.Sha256, rig.StoredSha(patch));
    }
}
