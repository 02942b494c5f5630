using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Serving;

/// <summary>Rejects a bad <see cref="ServingOptions"/> at start-up, naming the setting.</summary>
internal sealed class ServingOptionsValidator : IValidateOptions<ServingOptions>
{
    public ValidateOptionsResult Validate(string? name, ServingOptions o)
    {
        var errors = new List<string>();
        OptionChecks.Positive(errors, ("ClaimLease", o.ClaimLease), ("ClaimStallTimeout", o.ClaimStallTimeout), ("ComplianceStaleAfter", o.ComplianceStaleAfter));
        if (o.InternetDownloadsAtOnce < 0)
        {
            errors.Add($"InternetDownloadsAtOnce must be 0 (no limit) or more, not {o.InternetDownloadsAtOnce}");
        }

        if (o.ComplianceForgetAfter != TimeSpan.Zero && o.ComplianceForgetAfter <= o.ComplianceStaleAfter)
        {
            errors.Add($"ComplianceForgetAfter must be 0 (never) or longer than ComplianceStaleAfter ({o.ComplianceStaleAfter}), not {o.ComplianceForgetAfter}");
        }

        if (o.ComplianceForgetAfter < TimeSpan.Zero || o.ComplianceForgetAfter >= ComplianceIntake.MaxKnownAge)
        {
            errors.Add($"ComplianceForgetAfter must be 0 (never) or less than {ComplianceIntake.MaxKnownAge.TotalDays:0} days (the oldest sighting a server hand-over carries), not {o.ComplianceForgetAfter}");
        }

        return OptionChecks.Result(errors);
    }
}
