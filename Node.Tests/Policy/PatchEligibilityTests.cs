using PeerPatch.Node.Policy;

namespace PeerPatch.Node.Tests.Policy;

public sealed class PatchEligibilityTests
{
    private const string Os = "debian-12-amd64";
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);

    private static PolicyState State(RingStatus? ring0 = null, PatchRule? approved = null, PatchRule? held = null) => new(
        new PolicyEnvelope(3, "n-admin", T0, PolicyDocument.Default with
        {
            Rings = new RingPolicy(["n-lab"], [], ["0"], TimeSpan.FromHours(24)),
            Approved = approved is null ? [] : [approved],
            Held = held is null ? [] : [held],
        }),
        "{}",
        null,
        ring0 is null ? [] : [ring0],
        T0);

    [Fact]
    public void Ring0TakesAPatchAtOnce_OthersWaitForRing0AndTheDelay()
    {
        var state = State();
        Assert.Null(PatchEligibility.HeldBy(state, "n-lab", null, null, Os, "KB1", T0));
        Assert.Null(PatchEligibility.HeldBy(state, "n-x", null, "0", Os, "KB1", T0)); // by its Ring setting
        Assert.Equal("waiting for ring 0 to apply it", PatchEligibility.HeldBy(state, "n-pc", "pc", null, Os, "KB1", T0));

        var applied = State(new RingStatus(Os, "KB1", T0, null));
        Assert.Equal("ring 0 delay until 2026-12-01T10:00Z", PatchEligibility.HeldBy(applied, "n-pc", "pc", null, Os, "KB1", T0.AddHours(23)));
        Assert.Null(PatchEligibility.HeldBy(applied, "n-pc", "pc", null, Os, "KB1", T0.AddHours(24)));
    }

    [Fact]
    public void ARing0Failure_HoldsItForTheOthers_AnApprovalLetsItThrough_AHoldStopsEvenRing0()
    {
        var failed = State(new RingStatus(Os, "KB1", T0, "n-lab"));
        Assert.StartsWith("ring 0 failed it", PatchEligibility.HeldBy(failed, "n-pc", "pc", null, Os, "KB1", T0.AddDays(9)));

        var approved = State(approved: new PatchRule("KB*", Os));
        Assert.Null(PatchEligibility.HeldBy(approved, "n-pc", "pc", null, Os, "KB1", T0));
        Assert.NotNull(PatchEligibility.HeldBy(approved, "n-pc", "pc", null, "windows-11", "KB1", T0)); // another OS

        var held = State(held: new PatchRule("KB1", null));
        Assert.StartsWith("held by admin", PatchEligibility.HeldBy(held, "n-lab", null, null, Os, "KB1", T0));
    }

    [Fact]
    public void WithoutAPolicy_EverythingIsEligible()
    {
        Assert.Null(PatchEligibility.HeldBy(PolicyState.Default, "n-pc", "pc", null, Os, "KB1", T0));
    }

    [Fact]
    public void TheBudget_HoldsOutsideTheWindowUnlessUrgent_AndCountsTheDailyQuota()
    {
        Assert.True(DownloadWindow.TryParse("19:00-07:00", out var night));
        var policy = new InternetPolicy(0, [night], "*security*", 1000);
        var budget = new InternetBudget();
        var noon = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

        Assert.StartsWith("outside download window 19:00-07:00", budget.TryStart(policy, "KB1", 100, noon));
        Assert.Null(budget.TryStart(policy, "linux-security-6.1", 600, noon));
        Assert.Null(budget.TryStart(policy, "KB1", 400, noon.AddHours(8)));
        Assert.StartsWith("daily internet quota used", budget.TryStart(policy, "KB2", 1, noon.AddHours(9)));
        budget.Refund(400, noon.AddHours(9));
        Assert.Null(budget.TryStart(policy, "KB2", 1, noon.AddHours(9)));
        Assert.Null(budget.TryStart(policy, "KB3", 1000, noon.AddHours(13))); // the next day starts afresh (01:00)
    }
}
