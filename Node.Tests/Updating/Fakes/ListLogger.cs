using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>Keeps every formatted log line (with its event id) for assertions.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<(int EventId, string Text)> _lines = new();

    public IReadOnlyList<(int EventId, string Text)> Lines => [.. _lines];

    public bool Has(int eventId, string containing) => _lines.Any(l => l.EventId == eventId && l.Text.Contains(containing, StringComparison.Ordinal));

    public int Count(int eventId) => _lines.Count(l => l.EventId == eventId);

    public override string ToString() => string.Join('\n', _lines.Select(l => $"[{l.EventId}] {l.Text}"));

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue((eventId.Id, formatter(state, exception)));
}
