using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Hosting;

/// <summary>
/// Logging: the level and the file. Bound from the root of the node's configuration (the keys are the property
/// names); checked at start by <see cref="LoggingOptionsValidator"/>. Serilog is configured in code from these
/// (<see cref="NodeLogging"/>), not from a "Serilog" section: no reflection (Native AOT), and no sink outside the
/// log sanitizer.
/// </summary>
public sealed class LoggingOptions
{
    /// <summary>
    /// The lowest level the node logs, by Serilog's names: Verbose, Debug, Information, Warning, Error, Fatal. The
    /// framework's own sources ("Microsoft", "System.Net.Http") log from Warning, or from this level when it is higher.
    /// Default Information.
    /// </summary>
    public Serilog.Events.LogEventLevel LogLevel { get; set; } = Serilog.Events.LogEventLevel.Information;

    /// <summary>
    /// The log file. Serilog puts the date before its extension ("peerpatch-.log" becomes "peerpatch-20260101.log"):
    /// one file a day (a new one past 64 MiB), the last 14 kept. "" logs to the console (the journal) only. Unset:
    /// &lt;DataDir&gt;/logs/peerpatch-.log. Default unset.
    /// </summary>
    public string? LogFile { get; set; }

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static LoggingOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new LoggingOptions();
        configuration.Bind(options);
        return options;
    }
}
