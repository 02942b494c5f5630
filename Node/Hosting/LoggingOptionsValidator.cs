using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Hosting;

/// <summary>Rejects a bad <see cref="LoggingOptions"/> at start-up, naming the setting.</summary>
internal sealed class LoggingOptionsValidator : IValidateOptions<LoggingOptions>
{
    public ValidateOptionsResult Validate(string? name, LoggingOptions o)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(o.LogLevel))
        {
            errors.Add($"LogLevel {o.LogLevel} is not one of Verbose, Debug, Information, Warning, Error, Fatal");
        }

        if (o.LogFile is { Length: > 0 } logFile && (logFile.Contains('\0', StringComparison.Ordinal) || string.IsNullOrWhiteSpace(Path.GetFileName(logFile))))
        {
            errors.Add($"LogFile '{logFile}' must name a file");
        }

        return OptionChecks.Result(errors);
    }
}
