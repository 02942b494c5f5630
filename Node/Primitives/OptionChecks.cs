using Microsoft.Extensions.Options;

namespace PeerPatch.Node.Primitives;

/// <summary>Checks the options validators share: a bound that must be positive, and the result of a list of failures.</summary>
internal static class OptionChecks
{
    /// <summary>Adds "<c>label</c> must be positive" for each bound that is zero or negative.</summary>
    public static void Positive(List<string> errors, params (string Label, TimeSpan Value)[] bounds)
    {
        foreach (var (label, value) in bounds)
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{label} must be positive");
            }
        }
    }

    public static ValidateOptionsResult Result(List<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}
