using System.Collections.Concurrent;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// In-memory view of the patch database, so lookups never wait on disk: (os, name) -> the newest sha256 and
/// size. Loaded once at start; updated when a blob is stored.
/// </summary>
internal sealed class PatchIndex
{
    private readonly ConcurrentDictionary<(string Os, string Name), Entry> _latest = new(OrdinalKeys.Instance);
    private readonly ConcurrentDictionary<(string Os, string Name, string Sha), byte> _rows = new(OrdinalKeys.Instance);

    public void Load(IEnumerable<PatchRecord> records)
    {
        foreach (var r in records.OrderBy(r => r.AddedAt))
        {
            Add(r.OsVersion, r.PatchName, r.Sha256, r.Size);
        }
    }

    public void Add(string os, string name, string sha256, long size)
    {
        _rows[(os, name, sha256)] = 0;
        _latest[(os, name)] = new Entry(sha256, size);
    }

    public bool Contains(string os, string name, string sha256) => _rows.ContainsKey((os, name, sha256));

    public bool TryGetLatest(string os, string name, out string sha256, out long size)
    {
        if (_latest.TryGetValue((os, name), out var entry))
        {
            (sha256, size) = (entry.Sha256, entry.Size);
            return true;
        }

        (sha256, size) = (string.Empty, 0);
        return false;
    }

    /// <summary>Every patch name known, for checking a policy's patterns against.</summary>
    public IReadOnlyCollection<string> Names() => _latest.Keys.Select(k => k.Name).Distinct(StringComparer.Ordinal).ToList();

    private readonly record struct Entry(string Sha256, long Size);
}
