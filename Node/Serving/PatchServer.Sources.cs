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
    /// <see cref="LookupResult.BlobUrl"/> stays as before, for older clients. An asker that reads compact hits
    /// (<see cref="Lookup.CompactHit"/>) gets this server's entry as <see cref="LookupResult.ServerListed"/> and no path
    /// when it is this server's own: the same answer in fewer bytes, under half when this server is the only source
    /// (<see cref="LookupResult.Expand"/>).
    /// </summary>
    private LookupResult WithSources(LookupResult hit, Lookup lookup, IPEndPoint? from, bool serverHolds)
    {
        // Compact only for a remote asker that reads it: this node's own pass (from null) takes the answer as it is.
        var compact = lookup.CompactHit && from is not null;
        if (compact && hit.BlobUrl is ['/', ..])
        {
            hit = hit with { BlobUrl = null }; // this server's path for the hash (the only relative URL a hit has): the asker puts it back (LookupResult.Expand)
        }

        if (sources is null || serving is not { PeerServing: true } || random is null)
        {
            return hit;
        }

        var sha = hit.Sha256!;
        var askerId = lookup.NodeId;
        var now = time.MonotonicNow();
        PeerSource? own = null;
        var listed = false; // compact: this server as the last source, spelled out by the asker
        if (serverHolds && from is not null)
        {
            if (compact)
            {
                listed = ownAddresses?.AddressFacing(from.Address) is not null;
            }
            else if (ownAddresses?.UrlFor(from.Address, http.Port, sha) is { } url)
            {
                own = new PeerSource(self.NodeId, url);
            }
        }

        var list = sources.Rank(sha, askerId, ProtocolLimits.MaxSources - (own is null && !listed ? 0 : 1), now, random);
        if (own is not null)
        {
            list.Add(own);
        }

        SourceBudget.Trim(hit, list, keepLast: own is not null);
        if (askerId != self.NodeId)
        {
            sources.AddLikely(sha, askerId, now);
        }

        return list.Count == 0 && !listed ? hit : hit with { Sources = list.Count == 0 ? null : [.. list], PieceSize = store.Options.PieceSize, ServerListed = listed };
    }

    /// <summary>
    /// A hit on a blob this server does not hold yet while a claim on it is live, once a peer has confirmed it holds it:
    /// typically the PC that downloaded it under that claim, whose report came the moment it stored the blob while its
    /// push to this server is still on the way. The asker is sent to the holders (ranked as any hit's sources) instead
    /// of streaming through this server: on a slowed test LAN the pushes (every unique byte into this one PC's link)
    /// ended up to 95 s after their downloads, and all that time every waiter of those patches streamed through this
    /// server's upload. Null (the claim path as before) unless all of these hold:
    /// <list type="bullet">
    /// <item>the lookup names the upstream hash and size: the asker checks the bytes against them, as always, and this
    /// server vouches for nothing it has not seen;</item>
    /// <item>a claim on the hash is live: so a holder that evicted the blob since, or an inventory that names a blob
    /// nobody fetches, never sends askers away once the claim has ended (the next miss gets a claim, one
    /// download);</item>
    /// <item>the asker is not this server (its own pass waits for the push, which brings the bytes here anyway);</item>
    /// <item><see cref="ServingOptions.PeerServing"/> is on.</item>
    /// </list>
    /// The hit's own URL stays this server's path: a client without sources fetches here (the push streams through, as
    /// before), and no listed holder is taken for this server (whose piece list a client would trust alone).
    /// </summary>
    private LookupResult? PeerHit(Lookup lookup, IPEndPoint? from, string sha)
    {
        var now = time.MonotonicNow();
        if (sources is null || serving is not { PeerServing: true } || lookup.ExpectedSha256 != sha || lookup.ExpectedSize < 0
            || lookup.NodeId == self.NodeId || !claims.IsClaimed(sha, now) || !sources.HasConfirmedHolder(sha, lookup.NodeId, now))
        {
            return null;
        }

        var hit = WithSources(LookupResult.Hit(sha, lookup.ExpectedSize, BlobUrl.PathOf(sha)), lookup, from, serverHolds: false);
        if (hit.Sources is not { Length: > 0 })
        {
            return null;
        }

        stats.Hit();
        return hit;
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
