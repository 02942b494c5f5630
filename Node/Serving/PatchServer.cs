using System.Net;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Messages;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// The LAN server's answers: lookups from the in-memory index and the blob store's in-memory map (no disk
/// I/O on this path), claims from <see cref="ClaimTable"/>, hit counts batched by <see cref="HitRecorder"/>.
/// Runs on the transport's pump thread, and in-process for the server's own update passes.
/// </summary>
internal sealed partial class PatchServer(
    BlobStore store,
    PatchIndex index,
    ClaimTable claims,
    ClaimPolicy policy,
    HitRecorder hits,
    HolderIndex holders,
    InternetGate gate,
    ClusterState cluster,
    NodeIdentity self,
    HttpEndpointInfo http,
    NodeStats stats,
    TimeProvider time,
    ILogger<PatchServer> logger,
    SourceTable? sources = null,
    ServingOptions? serving = null,
    IRandomSource? random = null,
    ServerAddresses? ownAddresses = null) : ILanRequestHandler
{
    public IMessage Handle(IMessage request, IPEndPoint from)
    {
        if (request is Hello hello)
        {
            Log.Hello(logger, hello.NodeId, from, hello.OsVersion, hello.SoftwareVersion);
            NoteAddress(hello, from);
            return new HelloAck(self.NodeId, self.InstanceId, cluster.Role, http.Port, self.SoftwareVersion);
        }

        if (!cluster.IsServer)
        {
            return new ErrorReply(ErrorCode.NotServer, "this node is not the LAN server");
        }

        return request switch
        {
            Lookup lookup => Lookup(lookup, from),
            ClaimRenew renew => Renew(renew),
            ClaimRelease release => Release(release),
            PushDone done => PushDone(done),
            _ => new ErrorReply(ErrorCode.BadRequest, $"unexpected {request.GetType().Name}"),
        };
    }

    public LookupResult Lookup(Lookup lookup) => Lookup(lookup, null);

    /// <summary>A lookup from <paramref name="from"/> (null: this node's own pass), answered with ranked sources on a hit.</summary>
    public LookupResult Lookup(Lookup lookup, IPEndPoint? from)
    {
        var sha = lookup.ExpectedSha256;
        if (sha is null && index.TryGetLatest(lookup.OsVersion, lookup.PatchName, out var latest, out _))
        {
            sha = latest;
        }

        if (sha is not null && store.TryGetSize(sha, out var size))
        {
            return StoredHit(lookup, from, sha, size);
        }

        if (sha is not null && holders.TryGet(sha, out var holding))
        {
            // Another node reported it (e.g. before this node became the server): send the asker there.
            hits.RecordHit(lookup.OsVersion, lookup.PatchName, sha);
            stats.Hit();
            return WithSources(LookupResult.Hit(sha, holding.Record.Size, holding.BlobUrl().ToString()), lookup, from, serverHolds: false);
        }

        if (sha is not null && PeerHit(lookup, from, sha) is { } atPeers)
        {
            return atPeers;
        }

        var now = time.MonotonicNow(); // leases must survive the wall clock being set
        if (cluster.ElectedAt is { } elected && now - elected < policy.SettleTime)
        {
            stats.InFlight();
            return LookupResult.InFlight(0, (int)policy.RetryAfter.TotalMilliseconds);
        }

        var decision = claims.Acquire(ClaimKey(lookup.OsVersion, lookup.PatchName, lookup.ExpectedSha256), lookup.ExpectedSha256, lookup.NodeId, now);
        if (decision.Granted && sha is not null && store.TryGetSize(sha, out var landed))
        {
            // A push stored it between the store check above and the claim: its claim was completed, so this one was
            // granted. The bytes are here: a hit, not a second internet download (seen at 50 PCs).
            claims.Release(decision.ClaimId);
            return StoredHit(lookup, from, sha, landed);
        }

        if (decision.Granted)
        {
            // The LAN's internet budget: outside the download window or over the daily quota the miss is held.
            if (gate.Admit(decision.ClaimId, lookup.PatchName, lookup.ExpectedSize) is { } held)
            {
                claims.Release(decision.ClaimId);
                Log.Held(logger, lookup.PatchName, lookup.NodeId, held);
                return LookupResult.Held(held);
            }

            stats.Miss();
            Log.ClaimGranted(logger, lookup.PatchName, lookup.NodeId, decision.ClaimId);
            var share = gate.Allowance(decision.ClaimId);
            return LookupResult.Miss(decision.ClaimId, (int)gate.LeaseToName(decision.ClaimId, decision.Lease).TotalMilliseconds, share);
        }

        stats.InFlight();
        if (decision.Queued)
        {
            // Nobody downloads it yet (the LAN is at its downloads at once): no holder's bytes to stream, ask again.
            Log.ClaimQueued(logger, lookup.PatchName, lookup.NodeId, policy.MaxLive);
            return LookupResult.InFlight(0, (int)decision.RetryAfter.TotalMilliseconds);
        }

        return lookup.ExpectedSha256 is { } expected
            ? LookupResult.InFlight(decision.HolderBytes, (int)decision.RetryAfter.TotalMilliseconds, BlobUrl.PathOf(expected)) // cut-through
            : LookupResult.InFlight(decision.HolderBytes, (int)decision.RetryAfter.TotalMilliseconds);
    }

    /// <summary>A hit on a blob this server holds (a name seen for the first time under its hash is recorded).</summary>
    private LookupResult StoredHit(Lookup lookup, IPEndPoint? from, string sha, long size)
    {
        if (!index.Contains(lookup.OsVersion, lookup.PatchName, sha))
        {
            // Same bytes known under another name: content addressing makes it a hit; remember the name.
            index.Add(lookup.OsVersion, lookup.PatchName, sha, size);
            hits.RecordRow(new PatchRecord(lookup.OsVersion, lookup.PatchName, sha, size, null, time.GetUtcNow(), lookup.NodeId, 0, null));
        }

        hits.RecordHit(lookup.OsVersion, lookup.PatchName, sha);
        stats.Hit();
        return WithSources(LookupResult.Hit(sha, size, BlobUrl.PathOf(sha)), lookup, from, serverHolds: true);
    }

    public Ack Renew(ClaimRenew renew)
    {
        var now = time.MonotonicNow();
        var renewed = claims.Renew(renew.ClaimId, renew.BytesDone, now);
        var alive = renewed || Adopt(renew, now);
        Log.ClaimRenewed(logger, renew.ClaimId, renew.BytesDone, renewed ? "renewed" : alive ? "adopted" : "refused: expired, stalled or unknown");
        var share = alive ? gate.Allowance(renew.ClaimId) : 0;
        return new Ack(alive, alive ? (int)gate.LeaseToName(renew.ClaimId, policy.Lease).TotalMilliseconds : 0, alive ? null : "claim expired or revoked", share);
    }

    /// <summary>
    /// A renewal of a claim this server does not know, from a holder that names its patch: within one lease of this
    /// node becoming the server (elected, or started as the configured server: every live holder renews in that time,
    /// at once when it sees the change or a new session), the claim is adopted, so the settle time's lookups that
    /// follow find the patch in flight, not a miss to grant again. Not when the blob is already here (the holder's push
    /// then only confirms it) or another node holds a claim for it.
    /// </summary>
    private bool Adopt(ClaimRenew renew, DateTimeOffset now)
    {
        if (!renew.NamesPatch() || cluster.ServingSince is not { } since || now - since >= policy.Lease || store.Contains(renew.Sha256!))
        {
            return false;
        }

        if (!claims.Adopt(renew.ClaimId, ClaimKey(renew.OsVersion!, renew.PatchName!, renew.Sha256), renew.Sha256!, renew.NodeId!, renew.BytesDone, now))
        {
            return false;
        }

        gate.Adopt(renew.ClaimId, renew.Size);
        Log.ClaimAdopted(logger, renew.PatchName!, renew.NodeId!, renew.ClaimId, renew.BytesDone);
        return true;
    }

    /// <summary>A push of <paramref name="sha256"/> from <paramref name="nodeId"/> delivered more bytes (see <see cref="ClaimTable.PushProgress"/>).</summary>
    public void PushProgress(string sha256, string nodeId) => claims.PushProgress(sha256, nodeId, time.MonotonicNow());

    public Ack Release(ClaimRelease release)
    {
        claims.Release(release.ClaimId);
        gate.Refund(release.ClaimId);
        Log.ClaimReleased(logger, release.ClaimId, release.Reason);
        return new Ack(true, 0, null);
    }

    public Ack PushDone(PushDone done)
    {
        claims.Release(done.ClaimId);
        gate.Done(done.ClaimId);
        var stored = store.TryGetSize(done.Sha256, out var size) && size == done.Size;
        return new Ack(stored, 0, stored ? null : "blob not stored");
    }

    /// <summary>Called when a pushed (or own) blob has been stored: the patch becomes a hit and its claims end.</summary>
    public void OnStored(string os, string name, string sha256, long size)
    {
        index.Add(os, name, sha256, size);
        claims.Complete(sha256);
        holders.Forget(sha256);
    }

    /// <summary>True while someone holds a live download claim for that blob (a GET for it may wait for the push).</summary>
    public bool IsBeingFetched(string sha256) => claims.IsClaimed(sha256, time.MonotonicNow());

    internal static string ClaimKey(string os, string name, string? sha) => string.Concat(os, "\n", name, "\n", sha);
}
