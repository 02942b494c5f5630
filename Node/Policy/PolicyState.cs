namespace PeerPatch.Node.Policy;

/// <summary>
/// What a node holds of the LAN's policy: the envelope (parsed), its exact text and seal (as stored and replicated), and
/// the server's view of ring 0 per patch, computed at <see cref="RingComputedAt"/>. Immutable; swapped whole.
/// </summary>
internal sealed record PolicyState(PolicyEnvelope Envelope, string Text, string? Seal, IReadOnlyList<RingStatus> Ring0, DateTimeOffset RingComputedAt)
{
    public static PolicyState Default { get; } = new(PolicyEnvelope.Default, PolicyEnvelope.Default.ToJson(), null, [], DateTimeOffset.UnixEpoch);

    public long Version => Envelope.Version;

    public PolicyDocument Document => Envelope.Document;

    /// <summary>
    /// Whether this copy replaces <paramref name="other"/> (positive), is the same (zero) or yields to it (negative):
    /// the higher version, then, for two servers that each stored the same version (one died before any node fetched
    /// its change, the next one stored its own), the later <c>setAt</c>, then the text's ordinal order. A total order
    /// on copies, so every node and every later server ends with the same copy, whichever way the copies meet.
    /// </summary>
    public int Precedence(PolicyState other)
    {
        if (string.Equals(Text, other.Text, StringComparison.Ordinal))
        {
            return 0;
        }

        var byVersion = Version.CompareTo(other.Version);
        if (byVersion != 0)
        {
            return byVersion;
        }

        var bySetAt = Envelope.SetAt.ToUnixTimeMilliseconds().CompareTo(other.Envelope.SetAt.ToUnixTimeMilliseconds()); // as the text has it
        return bySetAt != 0 ? bySetAt : Math.Sign(string.CompareOrdinal(Text, other.Text));
    }

    public RingStatus? Ring0For(string os, string patch) =>
        Ring0.FirstOrDefault(r => string.Equals(r.Os, os, StringComparison.Ordinal) && string.Equals(r.Patch, patch, StringComparison.Ordinal));
}

/// <summary>
/// Ring 0's record of one patch, as the server computed it from the nodes' reports: when a ring-0 node first applied
/// it, and the ring-0 node that failed it (its latest state), if any.
/// </summary>
internal sealed record RingStatus(string Os, string Patch, DateTimeOffset? FirstApplied, string? FailedOn);
