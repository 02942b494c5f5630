namespace PeerPatch.Node.Primitives;

/// <summary>
/// Fail fast after a failure: closed for <see cref="RetryPolicy.Delay"/> after each failure in a row (so a peer that
/// just failed is not retried on every request), open again at once after a success. Time is the node's monotonic
/// clock (<see cref="MonotonicTime"/>), so setting the wall clock neither shortens nor stretches the window.
/// Not thread-safe: its owner serializes calls (the server session does, under its lock).
/// </summary>
internal sealed class RetryWindow(RetryPolicy policy, TimeProvider time)
{
    private int _failures;
    private DateTimeOffset _closedUntil;

    /// <summary>Failures in a row since the last success.</summary>
    public int Failures => _failures;

    /// <summary>True while the window is closed after a failure; <paramref name="remaining"/> says for how long still.</summary>
    public bool IsClosed(out TimeSpan remaining)
    {
        remaining = _closedUntil - time.MonotonicNow();
        if (remaining > TimeSpan.Zero)
        {
            return true;
        }

        remaining = TimeSpan.Zero;
        return false;
    }

    /// <summary>Counts a failure and closes the window for the policy's next delay, which it returns.</summary>
    public TimeSpan Failed()
    {
        _failures = _failures == int.MaxValue ? int.MaxValue : _failures + 1;
        var delay = policy.Delay(_failures);
        _closedUntil = time.MonotonicNow() + delay;
        return delay;
    }

    /// <summary>A success: the next failure starts the back-off from its first delay.</summary>
    public void Succeeded()
    {
        _failures = 0;
        _closedUntil = default;
    }
}
