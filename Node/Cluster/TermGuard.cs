using System.Globalization;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// Keeps election terms sane, whoever sends them (adverts, heartbeats, proofs, the database):
/// <list type="bullet">
/// <item>A term is valid only in [0, <see cref="Max"/>]; anything else is refused, and arithmetic on terms saturates
/// at <see cref="Max"/> (<see cref="Next"/>), so no term can overflow into a negative one.</item>
/// <item>A term more than <see cref="MaxStep"/> above the highest this node knows is refused, unless its node has
/// claimed it (within <see cref="MaxStep"/>) for <see cref="HoldFor"/> without a break: a one-off, flapping or
/// climbing forgery never counts, while a node joining an older LAN (whose term is far above its own) adopts the LAN's
/// term before its first election. <see cref="ClusterState.PinnedTerm"/> (an admin's --role server) always counts.</item>
/// </list>
/// Pure bookkeeping: time comes in as <c>now</c>.
/// </summary>
internal sealed class TermGuard
{
    /// <summary>
    /// The highest valid term: 2^48, above <see cref="ClusterState.PinnedTerm"/> (2^40) and 2^15 times below
    /// overflow. Elections add one per server loss, and a forger is held to <see cref="MaxStep"/> a second: neither gets
    /// near it in centuries. Were it reached, elections still work: equal terms fall back to rank.
    /// </summary>
    public const long Max = 1L << 48;

    /// <summary>
    /// How far above the highest known term a term is believed at once: 16. One election adds 1, and a healed split
    /// or a node that was off for a while lags by a few elections; 16 covers that with room, while a forged term
    /// jump (999, long.MaxValue) is refused.
    /// </summary>
    public const long MaxStep = 16;

    /// <summary>How long a node must hold a term above the step before it counts: the election's discovery window (1 s).</summary>
    public static readonly TimeSpan HoldFor = TimeSpan.FromSeconds(1);

    private const int MaxTracked = 4096;
    private readonly Dictionary<string, (long Base, DateTimeOffset Since, DateTimeOffset Seen)> _holds = new(StringComparer.Ordinal);

    public static bool IsValid(long term) => term is >= 0 and <= Max;

    /// <summary>The term after <paramref name="term"/>: one more, saturating at <see cref="Max"/>.</summary>
    public static long Next(long term) => term >= Max ? Max : Math.Max(term, 0) + 1;

    /// <summary>Reads a stored term: false when it is missing (term 0) or corrupt, negative or above <see cref="Max"/> (term 0: reset it).</summary>
    public static bool TryParseStored(string? text, out long term)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out term) && IsValid(term))
        {
            return true;
        }

        term = 0;
        return false;
    }

    /// <summary>True when <paramref name="nodeId"/>'s claim of <paramref name="term"/> may count now.</summary>
    public bool Accepts(string nodeId, long term, long highestKnown, DateTimeOffset now)
    {
        if (!IsValid(term))
        {
            return false;
        }

        if (term <= highestKnown + MaxStep || term == ClusterState.PinnedTerm)
        {
            return true;
        }

        if (!_holds.TryGetValue(nodeId, out var hold) || term < hold.Base || term > hold.Base + MaxStep || now - hold.Seen > HoldFor)
        {
            if (_holds.Count >= MaxTracked)
            {
                _holds.Clear(); // this many high claims at once is a flood, not a LAN: each starts over
            }

            hold = (term, now, now);
        }

        _holds[nodeId] = hold with { Seen = now };
        return now - hold.Since >= HoldFor;
    }
}
