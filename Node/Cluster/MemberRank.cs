namespace PeerPatch.Node.Cluster;

/// <summary>Election order: higher priority, then longer uptime (earlier start), then lower node id. Total and deterministic.</summary>
internal sealed class MemberRank : IComparer<(int Priority, long Since, string NodeId)>
{
    public static readonly MemberRank Instance = new();

    /// <summary>Negative when <paramref name="a"/> ranks above <paramref name="b"/>.</summary>
    public int Compare((int Priority, long Since, string NodeId) a, (int Priority, long Since, string NodeId) b)
    {
        var byPriority = b.Priority.CompareTo(a.Priority);
        if (byPriority != 0)
        {
            return byPriority;
        }

        var bySince = a.Since.CompareTo(b.Since);
        return bySince != 0 ? bySince : string.CompareOrdinal(a.NodeId, b.NodeId);
    }

    /// <summary>True when server A (term, rank) should win over server B: higher term first, then rank.</summary>
    public static bool Beats(long termA, (int, long, string) rankA, long termB, (int, long, string) rankB) =>
        termA != termB ? termA > termB : Instance.Compare(rankA, rankB) < 0;
}
