namespace PeerPatch.Node.Primitives;

/// <summary>
/// Capped exponential back-off with jitter, as pure arithmetic (no clock, no randomness of its own): the delay before
/// the next try after <c>failures</c> failed ones is <see cref="First"/> × <see cref="Factor"/>^(failures − 1), scaled
/// by a factor in [1 − <see cref="Jitter"/>, 1 + <see cref="Jitter"/>) chosen by a unit random value, and never more
/// than <see cref="Cap"/> nor less than zero. <see cref="RetryPolicy"/> feeds it the node's <see cref="IRandomSource"/>.
/// </summary>
internal readonly record struct Backoff
{
    /// <param name="first">The delay after the first failure (before jitter).</param>
    /// <param name="cap">No delay is longer, jitter included.</param>
    /// <param name="factor">Growth per further failure (1: a fixed delay).</param>
    /// <param name="jitter">Relative spread, 0 to 1: 0.25 gives delays in [0.75, 1.25) of the nominal one.</param>
    public Backoff(TimeSpan first, TimeSpan cap, double factor = 2, double jitter = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(first, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, TimeSpan.Zero);
        if (!(factor >= 1 && factor <= 1000))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "1 to 1000");
        }

        if (!(jitter >= 0 && jitter <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(jitter), jitter, "0 to 1");
        }

        (First, Cap, Factor, Jitter) = (first, cap, factor, jitter);
    }

    public TimeSpan First { get; }

    public TimeSpan Cap { get; }

    public double Factor { get; }

    public double Jitter { get; }

    /// <summary>The same delay after every failure, spread by <paramref name="jitter"/> (the cap never binds).</summary>
    public static Backoff Fixed(TimeSpan delay, double jitter = 0) =>
        new(delay, TimeSpan.FromTicks((long)Math.Ceiling(delay.Ticks * (1 + jitter))), 1, jitter);

    /// <summary>The delay before the next try after <paramref name="failures"/> failed tries (less than 1 counts as 1).</summary>
    /// <param name="unit">A random value in [0, 1) that places the delay inside the jitter range (clamped to [0, 1]).</param>
    public TimeSpan Delay(int failures, double unit)
    {
        var spread = 1 - Jitter + (2 * Jitter * (double.IsNaN(unit) ? 0.5 : Math.Clamp(unit, 0, 1)));
        if (First <= TimeSpan.Zero || spread <= 0)
        {
            return TimeSpan.Zero;
        }

        var ticks = First.Ticks * spread * Math.Pow(Factor, Math.Max(1, failures) - 1);
        return ticks < Cap.Ticks ? TimeSpan.FromTicks((long)ticks) : Cap; // many failures overflow to infinity: the cap
    }
}
