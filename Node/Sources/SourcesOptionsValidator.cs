using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Sources;

/// <summary>Rejects a bad <see cref="SourcesOptions"/> at start-up, naming the setting.</summary>
internal sealed class SourcesOptionsValidator : IValidateOptions<SourcesOptions>
{
    /// <summary>The longest an installer may run: one day, as a feed's timeoutSeconds.</summary>
    public static readonly TimeSpan MaxApplyTimeout = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, SourcesOptions o)
    {
        var errors = new List<string>();
        foreach (var source in o.Sources)
        {
            if (!SourceSpec.TryParse(source, out _, out var error))
            {
                errors.Add($"Sources: {error}");
            }
        }

        if (o.Sources.Contains("none") && o.Sources.Count > 1)
        {
            errors.Add("Sources: none cannot be combined with other sources");
        }

        if (o.AptCommandTimeout <= TimeSpan.Zero || o.AptListMaxBytes <= 0)
        {
            errors.Add("AptCommandTimeout and AptListMaxBytes must be positive");
        }

        OptionChecks.Positive(errors, ("ApplyTimeout", o.ApplyTimeout));
        if (o.ApplyTimeout > MaxApplyTimeout)
        {
            // As a feed's timeoutSeconds; and a timer cannot count past ~49.7 days.
            errors.Add($"ApplyTimeout must be at most {MaxApplyTimeout} (it was {o.ApplyTimeout})");
        }
        return OptionChecks.Result(errors);
    }
}
