using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Configuration;
using Serilog.Events;

namespace PeerPatch.Node.Hosting;

/// <summary>
/// The node's log pipeline (Serilog behind Microsoft.Extensions.Logging): the console and a daily file, both behind
/// one <see cref="SanitizingSink"/>, so every line they write has its untrusted text escaped and its URL secrets
/// masked. Sinks an admin adds through the "Serilog" configuration section sit outside it.
/// </summary>
internal static class NodeLogging
{
    /// <summary>Under systemd: "&lt;priority&gt;message", no time (journald adds it and reads the priority).</summary>
    public const string SystemdConsoleTemplate = "<{SyslogPriority}>{Message:lj} {PassId}{NewLine}{Exception}";

    /// <summary>On a terminal: time and level.</summary>
    public const string TerminalConsoleTemplate = "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {Message:lj} {PassId}{NewLine}{Exception}";

    /// <summary>The file: one line per event, its properties as JSON.</summary>
    public const string FileTemplate = "{Timestamp:o} [{Level:u3}] {SourceContext} {Message:lj} {Properties:j}{NewLine}{Exception}";

    public static LoggerConfiguration Configure(LoggerConfiguration lc, IConfiguration configuration, string logDir, bool underSystemd) => lc
        .MinimumLevel.Information()
        .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
        .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
        .ReadFrom.Configuration(configuration)
        .Enrich.FromLogContext()
        .WriteTo.Sink(LoggerSinkConfiguration.Wrap(inner => new SanitizingSink(inner), to =>
        {
            to.Logger(c => c // a sub-logger gets a copy of each event: the priority stays out of the file
                .Enrich.With<SyslogPriorityEnricher>()
                .WriteTo.Console(outputTemplate: underSystemd ? SystemdConsoleTemplate : TerminalConsoleTemplate, standardErrorFromLevel: LogEventLevel.Verbose));
            to.File(
                Path.Combine(logDir, "peerpatch-.log"),
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: 14,
                fileSizeLimitBytes: 64L << 20,
                rollOnFileSizeLimit: true,
                outputTemplate: FileTemplate);
        }));
}
