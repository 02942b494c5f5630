using PeerPatch.Node.Policy;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>The LAN's policy in the pass: rings, holds, and the internet budget, with an injected clock.</summary>
public sealed class PatchPipelinePolicyTests
{
    private static void Accept(PipelineRig rig, PolicyDocument document, params RingStatus[] ring0)
    {
        var envelope = new PolicyEnvelope(5, "n-admin", rig.Time.GetUtcNow(), document);
        var state = new PolicyState(envelope, envelope.ToJson(), null, ring0, rig.Time.GetUtcNow());
        Assert.True(rig.Policy.TryAccept(PolicyReplica.ToReply(state), out var error), error);
    }

    private static PolicyDocument Rings(string? approve = null) => PolicyDocument.Default with
    {
        Rings = new RingPolicy([], ["lab-*"], ["0"], TimeSpan.FromHours(24)),
        Approved = approve is null ? [] : [new PatchRule(approve, null)],
    };

    [Fact]
    public async Task APatchAppearsOnRing0First_OthersReportItHeldUntilTheDelayPasses()
    {
        using var ring0 = new PipelineRig();
        ring0.Core.Ring = "0";
        using var other = new PipelineRig();
        var (patch, bytes) = ring0.Patch("KB1");
        other.Internet.Serve(patch.Url, bytes);
        Accept(ring0, Rings());
        Accept(other, Rings());
        ring0.Server.Answer(PipelineRig.Miss(1));
        other.Server.Answer(PipelineRig.Miss(2));

        var first = await Eventually.Within(ring0.RunAsync(patch), "ring 0's pass");
        var held = await Eventually.Within(other.RunAsync(patch), "the other's pass");

        Assert.True(first.Applied, first.Error);
        Assert.False(held.Applied);
        Assert.Null(held.Error); // held is not a failure
        Assert.Equal("waiting for ring 0 to apply it", held.HeldBy);
        Assert.Empty(other.Server.Lookups); // no lookup, no bytes
        Assert.Equal(0, other.Internet.TotalRequests);

        // The server's record says ring 0 applied it now: the others wait out the delay, then take it.
        var appliedAt = other.Time.GetUtcNow();
        Accept(other, Rings(), new RingStatus(patch.OsVersion, patch.Name, appliedAt, null));
        other.Time.Advance(TimeSpan.FromHours(23));
        var stillHeld = await Eventually.Within(other.RunAsync(patch), "the other's second pass");
        Assert.StartsWith("ring 0 delay until ", stillHeld.HeldBy);
        Assert.Empty(other.Server.Lookups);

        other.Time.Advance(TimeSpan.FromHours(1));
        var taken = await Eventually.Within(other.RunAsync(patch), "the other's third pass");
        Assert.True(taken.Applied, taken.Error);
        Assert.Null(taken.HeldBy);
    }

    [Fact]
    public async Task AnApproval_LetsAPatchThroughBeforeRing0_AndAHoldStopsRing0Too()
    {
        using var other = new PipelineRig();
        var (patch, _) = other.Patch("KB1");
        other.Server.Answer(PipelineRig.Miss(2));
        Accept(other, Rings(approve: "KB*"));

        Assert.True((await Eventually.Within(other.RunAsync(patch), "the pass")).Applied);

        using var ring0 = new PipelineRig();
        ring0.Core.Ring = "0";
        var (patch2, _) = ring0.Patch("KB2");
        Accept(ring0, Rings() with { Held = [new PatchRule("KB2", null)] });
        var held = await Eventually.Within(ring0.RunAsync(patch2), "ring 0's pass");
        Assert.StartsWith("held by admin", held.HeldBy);
        Assert.Empty(ring0.Server.Lookups);
    }

    [Fact]
    public async Task AHoldSetWhileThePatchWasBeingObtained_StillStopsItsApply()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1");
        rig.Server.Answer(PipelineRig.Hit(patch));
        rig.Lan.Serve(rig.BlobUrl(patch).Absolute, bytes);

        var prepared = await Eventually.Within(rig.Pipeline.PrepareAsync(patch, new PatchProgress(), setAsideInFlight: false, CancellationToken.None), "obtaining");
        Assert.NotNull(prepared.Obtained);
        Accept(rig, PolicyDocument.Default with { Held = [new PatchRule("KB1", null)] }); // the admin's hold arrives now
        var outcome = await Eventually.Within(rig.Pipeline.FinishAsync(prepared, dryRun: false, new PatchProgress(), CancellationToken.None), "finishing");

        Assert.StartsWith("held by admin", outcome.HeldBy);
        Assert.False(outcome.Applied);
        Assert.Equal((bytes.Length, (string?)Origin.Lan), (outcome.Bytes, outcome.From)); // the bytes it moved still count
        Assert.Empty(rig.Applier.Applied);
    }

    [Fact]
    public async Task AMissTheServerHolds_IsHeldNotFailed_AndMovesNoBytes()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        rig.Server.Answer(_ => LookupResult.Held("outside download window 19:00-07:00"));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.Equal(("outside download window 19:00-07:00", (string?)null, false), (outcome.HeldBy, outcome.Error, outcome.Applied));
        Assert.Equal(0, rig.Internet.TotalRequests);
    }

    [Fact]
    public async Task WithoutAServer_TheLastKnownWindowsApplyToTheFallbackDownload()
    {
        using var rig = new PipelineRig();
        var (patch, _) = rig.Patch("KB1");
        var local = TimeZoneInfo.ConvertTime(rig.Time.GetUtcNow(), rig.Time.LocalTimeZone);
        Assert.True(DownloadWindow.TryParse($"{(local.Hour + 1) % 24:00}:00-{(local.Hour + 2) % 24:00}:00", out var later));
        Accept(rig, PolicyDocument.Default with { Internet = new InternetPolicy(0, [later], null, 0) });
        rig.Server.Answer(FakeServerChannel.Gone());

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.StartsWith("outside download window", outcome.HeldBy);
        Assert.Equal(0, rig.Internet.TotalRequests);

        rig.Time.Advance(TimeSpan.FromHours(1));
        var inside = await Eventually.Within(rig.RunAsync(patch), "the pass in the window");
        Assert.True(inside.Applied, inside.Error);
        Assert.Equal(Origin.Internet, inside.From);
    }
}
