using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>Every log entry of every category, with its event id and exception.</summary>
internal sealed class RecordingLoggers : ILoggerFactory
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, int EventId, Exception? Exception, string Text)> _entries = new();

    public IReadOnlyList<(string Category, LogLevel Level, int EventId, Exception? Exception, string Text)> Entries => [.. _entries];

    public IEnumerable<Exception> Exceptions(int eventId) => _entries.Where(e => e.EventId == eventId && e.Exception is not null).Select(e => e.Exception!);

    /// <summary>The entries at Information and above.</summary>
    public override string ToString() => string.Join('\n', _entries.Where(e => e.Level >= LogLevel.Information).Select(e => $"[{e.EventId}] {e.Text} {e.Exception?.Message}"));

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, int, Exception?, string)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue((category, logLevel, eventId.Id, exception, formatter(state, exception)));
    }
}
