using Serilog;
using Serilog.Configuration;
using Serilog.Events;

namespace PeerPatch.Node.Hosting;

/// <summary>
/// The node's log pipeline (Serilog behind Microsoft.Extensions.Logging): the console and a daily file, both behind
/// one <see cref="SanitizingSink"/>, so every line they write has its untrusted text escaped and its URL secrets
/// masked. Configured in code from the node's options (<see cref="LoggingOptions.LogLevel"/>, <see cref="LoggingOptions.LogFile"/>),
/// not from a "Serilog" configuration section: no reflection (Native AOT), and no sink outside the sanitizer.
/// </summary>
internal static class NodeLogging
{
    /// <summary>Under systemd: "&lt;priority&gt;message", no time (journald adds it and reads the priority).</summary>
    public const string SystemdConsoleTemplate = "<{SyslogPriority}>{Message:lj} {PassId}{NewLine}{Exception}";

    /// <summary>On a terminal: time and level.</summary>
    public const string TerminalConsoleTemplate = "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {Message:lj} {PassId}{NewLine}{Exception}";

    /// <summary>The file: one line per event, its properties as JSON.</summary>
    public const string FileTemplate = "{Timestamp:o} [{Level:u3}] {SourceContext} {Message:lj} {Properties:j}{NewLine}{Exception}";

    /// <summary>The rolling file of a node whose <see cref="LoggingOptions.LogFile"/> is unset, under its data directory.</summary>
    public static string DefaultFile(string dataDir) => Path.Combine(Path.GetFullPath(dataDir), "logs", "peerpatch-.log");

    /// <param name="level">The lowest level logged; framework sources log from Warning, or from this level when higher.</param>
    /// <param name="file">The rolling log file, or null for the console only.</param>
    /// <param name="underSystemd">Console lines in the journal's format (<see cref="SystemdConsoleTemplate"/>).</param>
    public static LoggerConfiguration Configure(LoggerConfiguration lc, LogEventLevel level, string? file, bool underSystemd) => lc
        .MinimumLevel.Is(level)
        .MinimumLevel.Override("Microsoft", Max(level, LogEventLevel.Warning))
        .MinimumLevel.Override("System.Net.Http", Max(level, LogEventLevel.Warning))
        .Enrich.FromLogContext()
        .WriteTo.Sink(LoggerSinkConfiguration.Wrap(inner => new SanitizingSink(inner), to =>
        {
            to.Logger(c => c // a sub-logger gets a copy of each event: the priority stays out of the file
                .Enrich.With<SyslogPriorityEnricher>()
                .WriteTo.Console(outputTemplate: underSystemd ? SystemdConsoleTemplate : TerminalConsoleTemplate, standardErrorFromLevel: LogEventLevel.Verbose));
            if (file is not null)
            {
                to.File(
                    file,
                    rollingInterval: RollingInterval.Day,
                    retainedFileCountLimit: 14,
                    fileSizeLimitBytes: 64L << 20,
                    rollOnFileSizeLimit: true,
                    outputTemplate: FileTemplate);
            }
        }));

    private static LogEventLevel Max(LogEventLevel a, LogEventLevel b) => a > b ? a : b;
}
