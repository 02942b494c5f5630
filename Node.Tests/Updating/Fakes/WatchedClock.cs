using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that notes every timer created on it (Task.Delay, timed cancellation, periodic
/// timers), so that a test advances the clock only once the code under test is parked on the timer it means to fire.
/// </summary>
internal sealed class WatchedClock() : FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero))
{
    private readonly ConcurrentQueue<TimeSpan> _created = new();

    /// <summary>The due times of the timers created so far, in order.</summary>
    public IReadOnlyList<TimeSpan> Created => [.. _created];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _created.Enqueue(dueTime);
        return timer;
    }

    /// <summary>Waits (in real time, at most 20 s) until <paramref name="count"/> timers with a due time <paramref name="due"/> exist.</summary>
    public Task WaitForTimerAsync(TimeSpan due, int count = 1) =>
        Eventually.TrueAsync(() => _created.Count(d => d == due) >= count, $"{count} timer(s) due in {due} (created: {string.Join(", ", _created)})");

    /// <summary>Waits for the <paramref name="count"/>th timer due in <paramref name="due"/>, then moves the clock by <paramref name="due"/>.</summary>
    public async Task FireAsync(TimeSpan due, int count = 1)
    {
        await WaitForTimerAsync(due, count);
        Advance(due);
    }
}
