using PeerPatch.Node.Primitives;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Security;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Messages;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>
/// The LAN server's answers, without a socket or a process: <see cref="PatchServer"/> over its real in-memory
/// collaborators (index, claim table, holder index, a blob store in a temporary directory) and a fake clock, as
/// Orleans tests its membership with an in-memory table and a driven timer.
/// </summary>
public sealed class PatchServerTests : IDisposable
{
    private const string Os = "test-1-amd64";
    private static readonly IPEndPoint From = new(IPAddress.Loopback, 40000);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);
    private readonly TempDir _dir = new();
    private readonly HookedClock _time = new(DateTimeOffset.Parse("2026-11-30T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly PatchDatabase _db;
    private readonly BlobStore _store;
    private readonly PatchIndex _index = new();
    private readonly HolderIndex _holders = new();
    private readonly ClusterState _cluster;
    private readonly NodeStats _stats = new();
    private readonly PatchServer _server;

    public PatchServerTests()
    {
        _db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        _store = new BlobStore(_dir.Sub("blobs"), _db, new BlobStoreOptions(), _time);
        var self = new NodeIdentity("nserver", "instance1", Os, "0.1.0");
        _cluster = new ClusterState(new ClusterOptions { Role = RoleSetting.Server }, self, _time);
        _server = NewServer(new ClaimPolicy(Lease, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250), Settle));
    }

    /// <summary>A server over this test's store, index and cluster, with its own claims under <paramref name="policy"/>.</summary>
    private PatchServer NewServer(ClaimPolicy policy)
    {
        var self = new NodeIdentity("nserver", "instance1", Os, "0.1.0");
        var claims = new ClaimTable(policy, new SystemRandomSource());
        var lanPolicy = new PolicyStore(_db, new ClusterAuth(null, self, _time), self, new InMemoryRingEvidence(), _index, _time, NullLogger<PolicyStore>.Instance);
        return new PatchServer(
            _store, _index, claims, policy, new HitRecorder(_db, _time, NullLogger<HitRecorder>.Instance),
            _holders, new InternetGate(lanPolicy, claims, _time), _cluster, self, new HttpEndpointInfo(new CoreOptions { DataDir = _dir.Path, HttpPort = 47471 }), _stats, _time, NullLogger<PatchServer>.Instance);
    }

    [Fact]
    public void Hello_IsAnsweredWithThisNodesRoleAndHttpPort()
    {
        var ack = Assert.IsType<HelloAck>(_server.Handle(new Hello("nclient", "i2", Os, 47471, "0.1.0"), From));

        Assert.Equal(("nserver", "instance1", NodeRole.Server, 47471), (ack.NodeId, ack.InstanceId, ack.Role, ack.HttpPort));
    }

    [Fact]
    public void ANodeThatIsNotTheServer_RefusesLookupsAndClaims_ButStillAnswersHello()
    {
        _cluster.Publish(new ClusterView(NodeRole.Client, 3, "nother", "10.0.0.9:47470"));

        var refused = Assert.IsType<ErrorReply>(_server.Handle(new Lookup(Os, "KB1", null, 0, "nclient"), From));
        Assert.Equal(ErrorCode.NotServer, refused.Code);
        Assert.Equal(ErrorCode.NotServer, Assert.IsType<ErrorReply>(_server.Handle(new ClaimRenew(1, 0), From)).Code);
        Assert.Equal(NodeRole.Client, Assert.IsType<HelloAck>(_server.Handle(new Hello("nclient", "i2", Os, 47471, "0.1.0"), From)).Role);
    }

    [Fact]
    public async Task AStoredBlob_IsAHit_AndASecondNameForTheSameBytesIsRememberedUnderThatName()
    {
        var (sha, size) = await StoreAsync(1000, seed: 1);
        _server.OnStored(Os, "KB1", sha, size);

        var byName = Assert.IsType<LookupResult>(_server.Handle(new Lookup(Os, "KB1", null, 0, "nclient"), From));
        Assert.Equal((LookupOutcome.Hit, sha, size, "/v1/blobs/" + sha), (byName.Outcome, byName.Sha256, byName.Size, byName.BlobUrl));

        Assert.False(_index.Contains(Os, "KB1-renamed", sha));
        var byHash = _server.Lookup(new Lookup(Os, "KB1-renamed", sha, size, "nclient"));
        Assert.Equal(LookupOutcome.Hit, byHash.Outcome);
        Assert.True(_index.Contains(Os, "KB1-renamed", sha), "content addressing: the same bytes under another name are that name's too");
        Assert.Equal(2, _stats.Hits);
    }

    [Fact]
    public void AMiss_GrantsOneClaim_AndTheNextAskerIsToldItIsInFlight_WithACutThroughUrlWhenItNamedTheHash()
    {
        var sha = new string('b', 64);
        var first = _server.Lookup(new Lookup(Os, "KB2", sha, 5000, "na"));
        var second = _server.Lookup(new Lookup(Os, "KB2", sha, 5000, "nb"));
        var byNameOnly = _server.Lookup(new Lookup(Os, "KB3", null, 0, "na"));
        var byNameOnlyToo = _server.Lookup(new Lookup(Os, "KB3", null, 0, "nb"));

        Assert.Equal(LookupOutcome.Miss, first.Outcome);
        Assert.NotEqual(0UL, first.ClaimId);
        Assert.Equal((int)Lease.TotalMilliseconds, first.LeaseMs);
        Assert.Equal(LookupOutcome.InFlight, second.Outcome);
        Assert.Equal("/v1/blobs/" + sha, second.BlobUrl);
        Assert.True(second.RetryAfterMs > 0);
        Assert.True(second.IsValid(), "the in-flight answer must pass the wire validation");
        Assert.Equal(LookupOutcome.Miss, byNameOnly.Outcome);
        Assert.Equal(LookupOutcome.InFlight, byNameOnlyToo.Outcome);
        Assert.Null(byNameOnlyToo.BlobUrl); // no hash named: nothing to stream
        Assert.True(_server.IsBeingFetched(sha));
    }

    [Fact]
    public void AtItsInternetDownloadsAtOnce_TheServerQueuesANewMiss_WithNothingToStream_UntilAClaimEnds()
    {
        var server = NewServer(new ClaimPolicy(Lease, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250), Settle, MaxLive: 1));
        var (shaA, shaB) = (new string('a', 64), new string('c', 64));
        var a = server.Lookup(new Lookup(Os, "KB-A", shaA, 5000, "na"));

        var queued = server.Lookup(new Lookup(Os, "KB-B", shaB, 5000, "nb"));
        var streamA = server.Lookup(new Lookup(Os, "KB-A", shaA, 5000, "nb"));

        Assert.Equal(LookupOutcome.Miss, a.Outcome);
        Assert.Equal((LookupOutcome.InFlight, null, 0L), (queued.Outcome, queued.BlobUrl, queued.Size)); // nobody downloads it yet
        Assert.True(queued.RetryAfterMs > 0 && queued.IsValid());
        Assert.False(server.IsBeingFetched(shaB));
        Assert.Equal(("/v1/blobs/" + shaA), streamA.BlobUrl); // a claimed patch is still streamed from its holder

        Assert.True(Assert.IsType<Ack>(server.Handle(new ClaimRelease(a.ClaimId, "download failed"), From)).Ok);
        Assert.Equal(LookupOutcome.Miss, server.Lookup(new Lookup(Os, "KB-B", shaB, 5000, "nb")).Outcome);
    }

    [Fact]
    public void RightAfterAnElection_NoClaimIsGranted_UntilTheSettleTimeHasPassed()
    {
        _cluster.Publish(new ClusterView(NodeRole.Client, 1, "nold", "10.0.0.9:47470"));
        _cluster.Publish(new ClusterView(NodeRole.Server, 2, "nserver", null)); // elected now

        var early = _server.Lookup(new Lookup(Os, "KB4", null, 0, "na"));
        _time.Advance(Settle + TimeSpan.FromMilliseconds(1));
        var later = _server.Lookup(new Lookup(Os, "KB4", null, 0, "na"));

        Assert.Equal(LookupOutcome.InFlight, early.Outcome); // the old server's claims may still be running
        Assert.Equal(0UL, early.ClaimId);
        Assert.Equal(LookupOutcome.Miss, later.Outcome);
    }

    [Fact]
    public void AClaimThePreviousServerGranted_IsAdoptedFromItsHoldersRenewal_SoTheSettledServerDoesNotGrantItAgain()
    {
        var sha = new string('e', 64);
        _cluster.Publish(new ClusterView(NodeRole.Client, 1, "nold", "10.0.0.9:47470"));
        _cluster.Publish(new ClusterView(NodeRole.Server, 2, "nserver", null)); // elected now; "na" holds claim 77 from nold

        var renewed = Assert.IsType<Ack>(_server.Handle(new ClaimRenew(77, 4000, Os, "KB40", sha, 9000, "na"), From));
        _time.Advance(Settle + TimeSpan.FromMilliseconds(1));
        var other = _server.Lookup(new Lookup(Os, "KB40", sha, 9000, "nb"));
        var again = _server.Renew(new ClaimRenew(77, 5000, Os, "KB40", sha, 9000, "na"));

        Assert.True(renewed.Ok, renewed.Detail);
        Assert.Equal((int)Lease.TotalMilliseconds, renewed.LeaseMs);
        Assert.Equal(LookupOutcome.InFlight, other.Outcome); // not a second internet download
        Assert.Equal(4000, other.Size); // the holder's progress so far
        Assert.Equal("/v1/blobs/" + sha, other.BlobUrl); // cut-through from this server, where the holder's push now goes
        Assert.True(again.Ok);
        Assert.True(_server.IsBeingFetched(sha));
        Assert.True(_server.Release(new ClaimRelease(77, "download failed")).Ok);
        Assert.Equal(LookupOutcome.Miss, _server.Lookup(new Lookup(Os, "KB40", sha, 9000, "nb")).Outcome); // released: the next asker gets it
    }

    [Fact]
    public void AConfiguredServerThatRestarted_AdoptsTheClaimItGrantedBeforeTheRestart()
    {
        // This fixture's server is configured (--role server) and freshly built, as after a restart. A configured server
        // is never elected, so adoption must count from its start: otherwise the holder's renewal (sent at once on the
        // new session) is refused and the next PC's miss is granted again, a second internet download (found in review).
        var sha = new string('e', 64);

        var renewed = _server.Renew(new ClaimRenew(77, 4000, Os, "KB40", sha, 9000, "na"));
        var other = _server.Lookup(new Lookup(Os, "KB40", sha, 9000, "nb"));

        Assert.True(renewed.Ok, renewed.Detail);
        Assert.Equal(LookupOutcome.InFlight, other.Outcome);
    }

    [Fact]
    public void AServerThatLostTheRoleAndRegainedIt_AdoptsBackTheClaimItGranted_WhenItsHolderRenewedElsewhereMeanwhile()
    {
        // A grants claim X, an election moves the LAN to B for more than a lease (the holder renews X to B, which adopts
        // it), then A is elected again. X is still in A's table, expired: A must take it back (its holder has made
        // progress since), or the holder's renewal is refused and the next miss is granted again (found in review).
        var sha = new string('c', 64);
        _cluster.Publish(new ClusterView(NodeRole.Server, 1, "nserver", null));
        _time.Advance(Settle + TimeSpan.FromMilliseconds(1));
        var granted = _server.Lookup(new Lookup(Os, "KB44", sha, 9000, "na"));
        _cluster.Publish(new ClusterView(NodeRole.Client, 2, "nb", "10.0.0.9:47470")); // B elected
        _time.Advance(Lease + TimeSpan.FromSeconds(1)); // the holder renews to B all this while
        _cluster.Publish(new ClusterView(NodeRole.Server, 3, "nserver", null)); // A again

        var renewed = _server.Renew(new ClaimRenew(granted.ClaimId, 5000, Os, "KB44", sha, 9000, "na"));

        Assert.Equal(LookupOutcome.Miss, granted.Outcome);
        Assert.True(renewed.Ok, renewed.Detail);
    }

    [Fact]
    public async Task AnUnknownClaim_IsNotAdopted_WithoutItsPatch_LongAfterTheElection_WhenTheBlobIsHere_OrWhenAnotherNodeHoldsIt()
    {
        var sha = new string('f', 64);
        _cluster.Publish(new ClusterView(NodeRole.Client, 1, "nold", "10.0.0.9:47470"));
        _cluster.Publish(new ClusterView(NodeRole.Server, 2, "nserver", null));

        var olderNode = _server.Renew(new ClaimRenew(78, 4000)); // names no patch: nothing to adopt
        _time.Advance(Settle + TimeSpan.FromMilliseconds(1));
        var granted = _server.Lookup(new Lookup(Os, "KB41", sha, 9000, "nb"));
        var contested = _server.Renew(new ClaimRenew(79, 4000, Os, "KB41", sha, 9000, "na"));
        var (held, size) = await StoreAsync(3000, seed: 41);
        var alreadyHere = _server.Renew(new ClaimRenew(80, 10, Os, "KB42", held, size, "na"));
        _time.Advance(Lease);
        var late = _server.Renew(new ClaimRenew(81, 10, Os, "KB43", new string('1', 64), 9000, "na"));

        Assert.False(olderNode.Ok);
        Assert.Equal(LookupOutcome.Miss, granted.Outcome);
        Assert.False(contested.Ok); // nb's live claim stands
        Assert.False(alreadyHere.Ok);
        Assert.False(late.Ok); // a lease after the election every live holder has renewed: this one is not from then
        Assert.Equal(LookupOutcome.Miss, _server.Lookup(new Lookup(Os, "KB43", new string('1', 64), 9000, "nb")).Outcome);
    }

    [Fact]
    public void APushThatLandsWhileALookupRuns_MakesItAHit_NotASecondClaim()
    {
        var bytes = new byte[5000];
        new Random(50).NextBytes(bytes);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var first = _server.Lookup(new Lookup(Os, "KB50", sha, bytes.Length, "na"));
        Assert.Equal(LookupOutcome.Miss, first.Outcome);

        // The holder's push is stored (and its claim completed, as the PUT does) after the next lookup has found the
        // store without the blob and before it asks for a claim: the lookup reads the clock in between.
        _time.OnNextTimestamp = () =>
        {
            Assert.True(_store.WriteAsync(new MemoryStream(bytes), sha, bytes.Length, long.MaxValue, CancellationToken.None).GetAwaiter().GetResult().Succeeded);
            _server.OnStored(Os, "KB50", sha, bytes.Length);
        };
        var second = _server.Lookup(new Lookup(Os, "KB50", sha, bytes.Length, "nb"));

        Assert.Null(_time.OnNextTimestamp); // the push did land inside the lookup
        Assert.Equal(LookupOutcome.Hit, second.Outcome);
        Assert.False(_server.IsBeingFetched(sha)); // no claim left behind
    }

    [Fact]
    public void ABlobAnotherNodeReported_IsAHitThatSendsTheAskerToThatNode()
    {
        var sha = new string('c', 64);
        Assert.True(_holders.Add(new PatchRecord(Os, "KB5", sha, 777, null, _time.GetUtcNow(), "nholder", 0, null), new Uri("http://10.0.0.7:47471/"), out _));

        var hit = _server.Lookup(new Lookup(Os, "KB5", sha, 777, "na"));

        Assert.Equal((LookupOutcome.Hit, sha, 777L, $"http://10.0.0.7:47471/v1/blobs/{sha}"), (hit.Outcome, hit.Sha256, hit.Size, hit.BlobUrl));
    }

    [Fact]
    public void AClaim_IsRenewedWhileAlive_AndNotAfterItsRelease_AndExpiresWithoutRenewal()
    {
        var claim = _server.Lookup(new Lookup(Os, "KB6", null, 0, "na")).ClaimId;

        var renewed = Assert.IsType<Ack>(_server.Handle(new ClaimRenew(claim, 100), From));
        Assert.Equal((true, (int)Lease.TotalMilliseconds), (renewed.Ok, renewed.LeaseMs));
        Assert.True(Assert.IsType<Ack>(_server.Handle(new ClaimRelease(claim, "done"), From)).Ok);
        var afterRelease = Assert.IsType<Ack>(_server.Handle(new ClaimRenew(claim, 200), From));
        Assert.False(afterRelease.Ok);
        Assert.Equal(LookupOutcome.Miss, _server.Lookup(new Lookup(Os, "KB6", null, 0, "nb")).Outcome); // the next asker gets it

        var other = _server.Lookup(new Lookup(Os, "KB7", null, 0, "na")).ClaimId;
        _time.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.False(_server.Renew(new ClaimRenew(other, 0)).Ok);
    }

    [Fact]
    public async Task PushDone_IsAcknowledgedOnlyWhenTheBlobIsStoredWithThatSize_AndEndsTheClaim()
    {
        var (sha, size) = await StoreAsync(2000, seed: 2);
        var claim = _server.Lookup(new Lookup(Os, "KB8", sha, size, "na")).ClaimId;

        var wrongSize = _server.PushDone(new PushDone(claim, sha, size + 1));
        var missing = _server.PushDone(new PushDone(claim, new string('d', 64), 10));
        var right = Assert.IsType<Ack>(_server.Handle(new PushDone(claim, sha, size), From));

        Assert.False(wrongSize.Ok);
        Assert.Equal("blob not stored", missing.Detail);
        Assert.True(right.Ok);
        Assert.False(_server.Renew(new ClaimRenew(claim, size)).Ok); // the claim ended with the push
    }

    [Fact]
    public void OnStored_EndsEveryClaimOnTheBlob_AndForgetsOtherHolders()
    {
        var sha = new string('e', 64);
        Assert.Equal(LookupOutcome.Miss, _server.Lookup(new Lookup(Os, "KB9", sha, 5, "na")).Outcome);
        Assert.True(_server.IsBeingFetched(sha));
        _holders.Add(new PatchRecord(Os, "KB9", sha, 5, null, _time.GetUtcNow(), "nholder", 0, null), new Uri("http://10.0.0.7:47471/"), out _);

        _server.OnStored(Os, "KB9", sha, 5);

        Assert.False(_server.IsBeingFetched(sha));
        Assert.False(_holders.TryGet(sha, out _));
        Assert.True(_index.Contains(Os, "KB9", sha));
    }

    [Fact]
    public void AnUnexpectedMessage_IsABadRequest_NotAnException()
    {
        var reply = Assert.IsType<ErrorReply>(_server.Handle(new Ack(true, 0, null), From));

        Assert.Equal(ErrorCode.BadRequest, reply.Code);
    }

    private async Task<(string Sha, long Size)> StoreAsync(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var result = await _store.WriteAsync(new MemoryStream(bytes), sha, size, long.MaxValue, CancellationToken.None);
        Assert.True(result.Succeeded, result.ToString());
        return (sha, size);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>A fake clock that runs an action (once) the next time anyone reads its timestamp.</summary>
    private sealed class HookedClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        public Action? OnNextTimestamp { get; set; }

        public override long GetTimestamp()
        {
            if (OnNextTimestamp is { } hook)
            {
                OnNextTimestamp = null;
                hook();
            }

            return base.GetTimestamp();
        }
    }
}
