using Serilog.Core;
using Serilog.Events;

namespace PeerPatch.Node.Hosting;

/// <summary>
/// Adds "SyslogPriority" (0-7) to each event, so that under systemd the console template can start every line with
/// the sd-daemon prefix "&lt;N&gt;" and journald files it at the right priority (sd-daemon(3)); journald adds the time.
/// </summary>
internal sealed class SyslogPriorityEnricher : ILogEventEnricher
{
    private static readonly LogEventProperty[] Priorities =
        [.. new[] { 7, 7, 6, 4, 3, 2 }.Select(p => new LogEventProperty("SyslogPriority", new ScalarValue(p)))];

    /// <summary>True when systemd started this process with its output going to the journal.</summary>
    public static bool UnderSystemd =>
        Environment.GetEnvironmentVariable("JOURNAL_STREAM") is { Length: > 0 } || Environment.GetEnvironmentVariable("INVOCATION_ID") is { Length: > 0 };

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory) =>
        logEvent.AddPropertyIfAbsent(Priorities[(int)logEvent.Level]);
}
