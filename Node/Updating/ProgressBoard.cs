using System.Collections.Concurrent;
using System.Globalization;
using PeerPatch.Protocol.Status;
using PeerPatch.Protocol.Text;

namespace PeerPatch.Node.Updating;

/// <summary>
/// Every <see cref="PatchProgress"/> in use on this node, for GET /v1/status ("transfers"): an owner registers its
/// own for as long as it runs (<see cref="Track"/>) and the board lists those that are on a patch, oldest first, at
/// most <see cref="TransferStatus.MaxListed"/>. Patch names come from feeds and apt: they are escaped and shortened.
/// </summary>
internal sealed class ProgressBoard
{
    /// <summary>An update pass (its id is the pass id).</summary>
    public const string Pass = "pass";

    /// <summary>A package the apt proxy fetches through the LAN (its id is a number counted from the node's start).</summary>
    public const string Proxy = "proxy";

    private readonly ConcurrentDictionary<long, Tracked> _tracked = new();
    private long _sequence;
    private long _proxyIds;

    /// <summary>An id for the next proxy fetch.</summary>
    public string NextProxyId() => Interlocked.Increment(ref _proxyIds).ToString(CultureInfo.InvariantCulture);

    /// <summary>Lists <paramref name="progress"/> until the returned registration is disposed.</summary>
    public IDisposable Track(string owner, string id, PatchProgress progress)
    {
        var key = Interlocked.Increment(ref _sequence);
        var tracked = new Tracked(this, key, owner, id, progress);
        _tracked[key] = tracked;
        return tracked;
    }

    public IReadOnlyList<TransferStatus> Snapshot()
    {
        var list = new List<TransferStatus>();
        foreach (var tracked in _tracked.Values.OrderBy(t => t.Key))
        {
            if (!tracked.Progress.Following && tracked.Progress.Snapshot() is { } now)
            {
                list.Add(new TransferStatus(tracked.Owner, tracked.Id, Printable(now.Patch), now.Stage, now.Bytes, now.Total));
                if (list.Count == TransferStatus.MaxListed)
                {
                    break;
                }
            }
        }

        return list;
    }

    private static string Printable(string patch) =>
        LogText.Sanitize(patch.Length > TransferStatus.MaxPatchChars ? patch[..TransferStatus.MaxPatchChars] + "…" : patch);

    private sealed class Tracked(ProgressBoard board, long key, string owner, string id, PatchProgress progress) : IDisposable
    {
        public long Key => key;

        public string Owner => owner;

        public string Id => id;

        public PatchProgress Progress => progress;

        public void Dispose() => board._tracked.TryRemove(key, out _);
    }
}
