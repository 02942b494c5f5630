using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>
/// A LAN server that stops answering is given <see cref="UpdatingOptions.LanPatience"/> before patches go to the
/// internet, counted from the outage's first unanswered request, on the fake clock: a server back within it serves the
/// patch, one that stays silent costs one patience and no more, and the next answer ends the outage.
/// </summary>
public sealed class LanPatienceTests
{
    private static readonly TimeSpan Poll = LanPatience.Poll;

    [Fact]
    public async Task AServerThatAnswersAgainWithinThePatience_ServesThePatch_AndTheInternetIsNeverAsked()
    {
        using var rig = new PipelineRig();
        rig.Options.LanPatience = TimeSpan.FromSeconds(10);
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(FakeServerChannel.Gone("no answer within 2000 ms"), FakeServerChannel.Gone("no answer within 2000 ms"), PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);

        var run = rig.RunAsync(patch);
        await rig.Time.FireAsync(Poll);
        await rig.Time.FireAsync(Poll, count: 2);
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Equal(0, rig.Internet.TotalRequests);
        Assert.Equal(3, rig.Server.Lookups.Count);
        Assert.Equal(1, rig.Log.Count(429)); // said once per patch, not per poll
        Assert.True(rig.Log.Has(429, "KB1: LAN server server.test unavailable (no answer within 2000 ms); giving the LAN up to 10 s more to answer before the internet"), rig.Log.ToString());
        Assert.Equal(0, rig.Stats.ServerFallbacks);
    }

    [Fact]
    public async Task AServerSilentForThePatience_SendsThePatchToTheInternet_AndLaterPatchesGoThereAtOnce_UntilItAnswersAgain()
    {
        using var rig = new PipelineRig();
        rig.Options.LanPatience = TimeSpan.FromSeconds(3);
        var (first, firstBytes) = rig.Patch("KB1", seed: 1);
        var (second, _) = rig.Patch("KB2", seed: 2);
        var (third, thirdBytes) = rig.Patch("KB3", seed: 3);
        rig.Server.Answer(FakeServerChannel.Gone());

        var run = rig.RunAsync(first);
        for (var i = 1; i <= 3; i++)
        {
            await rig.Time.FireAsync(Poll, count: i);
        }

        var outcome = await Eventually.Within(run, "the first pass");
        var lookupsAfterFirst = rig.Server.Lookups.Count;
        var later = await Eventually.Within(rig.RunAsync(second), "the second pass"); // the outage is 3 s old: no wait
        rig.Server.Answer(PipelineRig.Hit(third)); // the server is back: the outage ends with this answer
        rig.Lan.Serve(rig.BlobUrl(third).Absolute, thirdBytes);
        var back = await Eventually.Within(rig.RunAsync(third), "the third pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Internet, outcome.From);
        Assert.Equal(4, lookupsAfterFirst); // asked at 0, 1, 2 and 3 s, then the patience was spent
        Assert.Equal(Origin.Internet, later.From);
        Assert.Equal(6, rig.Server.Lookups.Count); // the second and third patches asked once each
        Assert.Equal(Origin.Lan, back.From);
        Assert.Equal(2, rig.Stats.ServerFallbacks);
        Assert.Equal(1, rig.Log.Count(429)); // the second patch did not wait
        Assert.Equal(firstBytes.Length, outcome.Bytes);
    }

    [Fact]
    public async Task AnOutageForgottenAfterAQuietSpell_GivesTheNextOutageItsOwnPatience()
    {
        using var rig = new PipelineRig();
        rig.Options.LanPatience = TimeSpan.FromSeconds(1);
        var (first, _) = rig.Patch("KB1", seed: 1);
        var (second, _) = rig.Patch("KB2", seed: 2);
        rig.Server.Answer(FakeServerChannel.Gone());

        var run = rig.RunAsync(first);
        await rig.Time.FireAsync(Poll);
        Assert.Equal(Origin.Internet, (await Eventually.Within(run, "the first pass")).From); // the patience was spent
        rig.Time.Advance(LanPatience.ForgetAfter + TimeSpan.FromSeconds(1)); // hours later, nothing asked meanwhile
        var later = rig.RunAsync(second);
        await rig.Time.FireAsync(Poll, count: 2); // it waits again: a new outage
        var outcome = await Eventually.Within(later, "the second pass");

        Assert.Equal(Origin.Internet, outcome.From);
        Assert.Equal(4, rig.Server.Lookups.Count); // two per pass: asked, waited a second, asked again
        Assert.Equal(2, rig.Log.Count(429));
    }

    [Fact]
    public async Task AnElectionDuringThePatience_SendsTheNextLookupToTheNewServer_WithoutWaitingOutThePoll()
    {
        using var rig = new PipelineRig();
        rig.Options.LanPatience = TimeSpan.FromSeconds(10);
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(FakeServerChannel.Gone());
        var next = new FakeServerChannel("next.test");
        next.Answer(_ => PeerPatch.Protocol.Messages.LookupResult.Hit(patch.Sha256, patch.Size, "/v1/blobs/" + patch.Sha256));
        rig.Lan.Serve(new Uri(next.Base, "v1/blobs/" + patch.Sha256), bytes);

        var run = rig.RunAsync(patch);
        await rig.Time.WaitForTimerAsync(Poll);
        rig.Servers.Current = next; // elected; the clock does not move
        var outcome = await Eventually.Within(run, "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Single(next.Lookups);
        Assert.Equal(0, rig.Internet.TotalRequests);
    }
}
