using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Updating;

public sealed class PassStatesTests
{
    [Fact]
    public void APass_ReportsAppliedBeforeAndNow_FailedWithItsError_HeldNeverAsAFailure_AndUntriedAsPending()
    {
        var states = PassStates.From(
            "p1",
            DateTimeOffset.UnixEpoch,
            ["KB1", "KB2", "KB3", "KB4", "KB5"],
            new HashSet<string> { "KB1" },
            [
                new PatchOutcome("os", "KB2", "h2", 1, Origin.Lan, true, null),
                new PatchOutcome("os", "KB3", "h3", 0, null, false, "apply command exited with 3"),
                new PatchOutcome("os", "KB4", "h4", 0, null, false, "held", HeldBy: "ring 0 delay until tomorrow"),
            ]);

        Assert.Equal(
            [
                new CompliancePatch("KB1", ComplianceStates.Applied),
                new CompliancePatch("KB2", ComplianceStates.Applied),
                new CompliancePatch("KB3", ComplianceStates.Failed, "apply command exited with 3"),
                new CompliancePatch("KB4", ComplianceStates.Held, "ring 0 delay until tomorrow"),
                new CompliancePatch("KB5", ComplianceStates.Pending),
            ],
            states.Patches);
    }
}
