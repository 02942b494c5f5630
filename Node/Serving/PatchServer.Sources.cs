using System.Net;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Serving;

internal sealed partial class PatchServer
{
    /// <summary>
    /// A hit's sources (<see cref="ServingOptions.PeerServing"/> on): the nodes holding the blob, ranked by
    /// <see cref="SourceTable.Rank"/>, then this server when it holds the blob itself (alone when no peer does), at most
    /// <see cref="ProtocolLimits.MaxSources"/> and only as many as fit the datagram (<see cref="SourceBudget"/>); and
    /// the piece size. The asker becomes a likely holder: it serves the pieces it verified while it receives.
    /// <see cref="LookupResult.BlobUrl"/> stays as before, for older clients.
    /// </summary>
    private LookupResult WithSources(LookupResult hit, string askerId, IPEndPoint? from, bool serverHolds)
    {
        if (sources is null || serving is not { PeerServing: true } || random is null)
        {
            return hit;
        }

        var sha = hit.Sha256!;
        var now = time.MonotonicNow();
        var own = serverHolds && from is not null && ownAddresses?.UrlFor(from.Address, http.Port, sha) is { } url ? new PeerSource(self.NodeId, url) : null;
        var list = sources.Rank(sha, askerId, ProtocolLimits.MaxSources - (own is null ? 0 : 1), now, random);
        if (own is not null)
        {
            list.Add(own);
        }

        SourceBudget.Trim(hit, list, keepLast: own is not null);
        if (askerId != self.NodeId)
        {
            sources.AddLikely(sha, askerId, now);
        }

        return list.Count == 0 ? hit : hit with { Sources = [.. list], PieceSize = store.Options.PieceSize };
    }

    /// <summary>
    /// A hit on a blob this server does not hold (yet) but a peer has confirmed it holds, typically the PC that
    /// downloaded it under a claim, whose report came the moment it stored the blob while its push to this server is
    /// still on the way: the asker is sent to the holders (ranked as any hit's sources) instead of streaming through
    /// this server. On a slowed test LAN the pushes (every unique byte into this one PC's link) ended up to 95 s after
    /// their downloads, and all that time every waiter of those patches streamed through this server's upload. Only
    /// for a lookup that names the upstream hash and size (the asker checks the bytes against them, as always; this
    /// server vouches for nothing it has not seen) and with <see cref="ServingOptions.PeerServing"/> on; null otherwise.
    /// </summary>
    private LookupResult? PeerHit(Lookup lookup, IPEndPoint? from, string sha)
    {
        if (sources is null || serving is not { PeerServing: true } || lookup.ExpectedSha256 != sha || lookup.ExpectedSize < 0
            || !sources.HasConfirmedHolder(sha, lookup.NodeId, time.MonotonicNow()))
        {
            return null;
        }

        var hit = WithSources(LookupResult.Hit(sha, lookup.ExpectedSize, BlobUrl.PathOf(sha)), lookup.NodeId, from, serverHolds: false);
        if (hit.Sources is not [var first, ..])
        {
            return null;
        }

        stats.Hit();
        return hit with { BlobUrl = first.BlobUrl };
    }

    /// <summary>Remembers the HTTP base of a node that says Hello (where its blobs are, should it hold some).</summary>
    private void NoteAddress(Hello hello, IPEndPoint from)
    {
        if (sources is null || hello.HttpPort is < 1 or > 65535)
        {
            return;
        }

        var address = from.Address.Unmapped();
        sources.NoteAddress(hello.NodeId, HttpBase(address, hello.HttpPort), time.MonotonicNow());
    }

    /// <summary>http://address:port/ (IPv6 in brackets).</summary>
    internal static Uri HttpBase(IPAddress address, int port) =>
        new(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"http://[{address}]:{port}/" : $"http://{address}:{port}/");
}
