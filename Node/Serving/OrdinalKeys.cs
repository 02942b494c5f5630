namespace PeerPatch.Node.Serving;

/// <summary>
/// Ordinal comparers for the lookup path's tuple keys, (os, name) and (os, name, sha256). The tuples' default
/// comparer reaches each string's comparer through shared generic code, which under Native AOT is a run-time
/// dictionary lookup per field on every lookup (perf of the lookup bench); these compare the strings directly.
/// Hashes stay string.GetHashCode (randomized per process), so names an asker chooses cannot flood one bucket.
/// </summary>
internal sealed class OrdinalKeys : IEqualityComparer<(string, string)>, IEqualityComparer<(string, string, string)>
{
    public static readonly OrdinalKeys Instance = new();

    private OrdinalKeys()
    {
    }

    public bool Equals((string, string) x, (string, string) y) =>
        string.Equals(x.Item1, y.Item1, StringComparison.Ordinal) && string.Equals(x.Item2, y.Item2, StringComparison.Ordinal);

    public int GetHashCode((string, string) key) => HashCode.Combine(key.Item1?.GetHashCode() ?? 0, key.Item2?.GetHashCode() ?? 0);

    public bool Equals((string, string, string) x, (string, string, string) y) =>
        string.Equals(x.Item1, y.Item1, StringComparison.Ordinal) && string.Equals(x.Item2, y.Item2, StringComparison.Ordinal)
        && string.Equals(x.Item3, y.Item3, StringComparison.Ordinal);

    public int GetHashCode((string, string, string) key) =>
        HashCode.Combine(key.Item1?.GetHashCode() ?? 0, key.Item2?.GetHashCode() ?? 0, key.Item3?.GetHashCode() ?? 0);
}
