using System.Collections.Concurrent;
using PeerPatch.Protocol.Http;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// The blobs this node is fetching by pieces right now (<see cref="SwarmFetcher"/>), by SHA-256, so the blob endpoint
/// can serve their verified pieces to others before the whole file is here. Bounded: beyond
/// <see cref="MaxEntries"/> a fetch still runs, only its pieces are not offered. An entry goes away when its fetch
/// ends, committed or not.
/// </summary>
internal sealed class PartialBlobs
{
    /// <summary>Most partial blobs offered at once.</summary>
    public const int MaxEntries = 32;

    private readonly ConcurrentDictionary<string, PartialBlob> _blobs = new(StringComparer.Ordinal);

    public int Count => _blobs.Count;

    /// <summary>Offers a fetch's verified pieces; null when the table is full or the blob is offered already.</summary>
    public PartialBlob? Register(PieceList pieces, string tempPath)
    {
        if (_blobs.Count >= MaxEntries)
        {
            return null;
        }

        var blob = new PartialBlob(pieces, tempPath);
        return _blobs.TryAdd(pieces.Sha256, blob) ? blob : null;
    }

    /// <summary>Stops offering <paramref name="blob"/> (its fetch ended).</summary>
    public void Remove(PartialBlob blob) => _blobs.TryRemove(new KeyValuePair<string, PartialBlob>(blob.Sha256, blob));

    /// <summary>The partial blob of <paramref name="sha256"/>, if one is being fetched.</summary>
    public PartialBlob? Find(string sha256) => _blobs.GetValueOrDefault(sha256);
}
