using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Updating;

/// <summary>Rejects a bad <see cref="UpdatingOptions"/> at start-up, naming the setting.</summary>
internal sealed class UpdatingOptionsValidator : IValidateOptions<UpdatingOptions>
{
    public ValidateOptionsResult Validate(string? name, UpdatingOptions o)
    {
        var errors = new List<string>();
        if (o.UpdateInterval < TimeSpan.Zero)
        {
            errors.Add("UpdateInterval must not be negative");
        }

        if (o.LanPatience < TimeSpan.Zero || o.LanPatience > TimeSpan.FromMinutes(10))
        {
            errors.Add("LanPatience must be 0 to 10 minutes");
        }

        if (o.ObtainConcurrency is < 1 or > 32)
        {
            errors.Add("ObtainConcurrency must be 1 to 32");
        }

        OptionChecks.Positive(errors, ("ClaimWaitMax", o.ClaimWaitMax), ("PassDeadline", o.PassDeadline), ("PassLockWait", o.PassLockWait), ("ComplianceReportInterval", o.ComplianceReportInterval));
        return OptionChecks.Result(errors);
    }
}
