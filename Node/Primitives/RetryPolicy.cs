namespace PeerPatch.Node.Primitives;

/// <summary>
/// The node's one rule for trying again: at most <see cref="MaxAttempts"/> tries, separated by a <see cref="Backoff"/>
/// whose jitter comes from the node's <see cref="IRandomSource"/>, waited on the node's <see cref="TimeProvider"/>.
/// It decides and waits; the loop that tries belongs to its caller (the internet download, the server session, the
/// inventory report), which also decides what is worth another try.
/// </summary>
internal sealed class RetryPolicy(Backoff backoff, int maxAttempts, IRandomSource random, TimeProvider time)
{
    /// <summary>No limit on tries (a session that is retried whenever it is needed, never in a loop of its own).</summary>
    public const int Unlimited = int.MaxValue;

    public Backoff Backoff { get; } = backoff;

    /// <summary>Tries in all, the first included.</summary>
    public int MaxAttempts { get; } = maxAttempts >= 1 ? maxAttempts : throw new ArgumentOutOfRangeException(nameof(maxAttempts), maxAttempts, "at least 1");

    /// <summary>The delay before the next try after <paramref name="failures"/> failed tries, jittered.</summary>
    public TimeSpan Delay(int failures) => Backoff.Delay(failures, random.NextDouble());

    /// <summary>False when <paramref name="failures"/> failed tries used up the attempts; else the delay before the next.</summary>
    public bool TryNext(int failures, out TimeSpan delay)
    {
        delay = failures < MaxAttempts ? Delay(failures) : TimeSpan.Zero;
        return failures < MaxAttempts;
    }

    /// <summary>Waits <paramref name="delay"/> on the node's clock.</summary>
    public Task WaitAsync(TimeSpan delay, CancellationToken ct) => Task.Delay(delay, time, ct);
}
