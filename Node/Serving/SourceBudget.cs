using System.Text;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Keeps a hit's source list within the datagram limit (<see cref="ProtocolLimits.MaxMessageBytes"/>) without encoding
/// it: an upper bound of the MessagePack size of the envelope, the other fields and each source (a string of n UTF-8
/// bytes takes at most n + 3 bytes below 64 KiB), so the answer always fits; the property test encodes to check.
/// </summary>
internal static class SourceBudget
{
    /// <summary>The envelope (magic, version, correlation id, the union tag) and every fixed-size field of the answer, rounded up generously.</summary>
    internal const int FixedBytes = 128;

    /// <summary>Drops sources from the end (the server's own entry, last, kept when <paramref name="keepLast"/>) until the answer fits.</summary>
    public static void Trim(LookupResult hit, List<PeerSource> sources, bool keepLast)
    {
        var left = ProtocolLimits.MaxMessageBytes - FixedBytes - StringBytes(hit.Sha256) - StringBytes(hit.BlobUrl);
        var costs = new int[sources.Count];
        var total = 0;
        for (var i = 0; i < sources.Count; i++)
        {
            costs[i] = 1 + StringBytes(sources[i].NodeId) + StringBytes(sources[i].BlobUrl);
            total += costs[i];
        }

        var keepLastCost = keepLast && sources.Count > 0 ? costs[^1] : 0;
        for (var i = sources.Count - (keepLast ? 2 : 1); i >= 0 && total > left; i--)
        {
            total -= costs[i];
            sources.RemoveAt(i);
        }

        if (total > left && keepLastCost > 0)
        {
            sources.Clear();
        }
    }

    private static int StringBytes(string? s) => s is null ? 1 : Encoding.UTF8.GetByteCount(s) + 3;
}
