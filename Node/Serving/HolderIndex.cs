using System.Collections.Concurrent;
using PeerPatch.Protocol.Http;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Blobs that other nodes hold and the server does not (yet): learned from inventory reports, so a newly
/// elected server knows every patch any live node holds. Lookups answer with a holder's URL until the
/// <see cref="BlobPuller"/> has copied the blob here.
/// </summary>
internal sealed class HolderIndex
{
    /// <summary>Most blobs remembered: inventories are unauthenticated until membership keys, so they cannot grow this without bound.</summary>
    public const int MaxEntries = 200_000;

    private readonly ConcurrentDictionary<string, Holding> _bySha = new(StringComparer.Ordinal);

    public int Count => _bySha.Count;

    /// <summary>
    /// Records that <paramref name="holder"/> (its HTTP base URL) holds <paramref name="record"/>'s blob (at most 8
    /// holders a blob, the latest kept); false when full. <paramref name="created"/>: the blob was not here before, so
    /// it needs a pull (<see cref="BlobPuller"/>); a holder added to a blob already here joins the pull under way or queued.
    /// </summary>
    public bool Add(PatchRecord record, Uri holder, out bool created)
    {
        while (true)
        {
            if (_bySha.TryGetValue(record.Sha256, out var h))
            {
                created = false;
                if (h.Holders.Contains(holder) || _bySha.TryUpdate(record.Sha256, h with { Holders = [.. h.Holders.Where(u => u != holder).Take(7), holder] }, h))
                {
                    return true;
                }
            }
            else if (_bySha.Count >= MaxEntries)
            {
                created = false;
                return false;
            }
            else if (_bySha.TryAdd(record.Sha256, new Holding(record, [holder])))
            {
                created = true;
                return true;
            }
        }
    }

    public bool TryGet(string sha256, out Holding holding) => _bySha.TryGetValue(sha256, out holding!);

    /// <summary>The server now has the blob itself.</summary>
    public void Forget(string sha256) => _bySha.TryRemove(sha256, out _);

    /// <summary>
    /// A holder's copy turned out unreachable or wrong. Compare-and-swap: a holder another thread adds meanwhile (a
    /// report, a lookup's hint) is never lost with the dropped one.
    /// </summary>
    public void Drop(string sha256, Uri holder)
    {
        while (_bySha.TryGetValue(sha256, out var h) && h.Holders.Contains(holder))
        {
            var rest = h.Holders.Where(u => u != holder).ToList();
            if (rest.Count == 0
                    ? _bySha.TryRemove(new KeyValuePair<string, Holding>(sha256, h))
                    : _bySha.TryUpdate(sha256, h with { Holders = rest }, h))
            {
                return;
            }
        }
    }

    internal sealed record Holding(PatchRecord Record, IReadOnlyList<Uri> Holders)
    {
        public Uri BlobUrl(int i = 0) => Protocol.Http.BlobUrl.On(Holders[i], Record.Sha256);
    }
}
