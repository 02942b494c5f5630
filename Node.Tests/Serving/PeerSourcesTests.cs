using System.Net;
using System.Security.Cryptography;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Messages;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>A lookup hit's sources at the server: holders first, the server last, the asker a likely holder; and the off switch.</summary>
public sealed class PeerSourcesTests : IDisposable
{
    private const string Os = "test-1-amd64";
    private static readonly IPEndPoint Client1 = new(IPAddress.Loopback, 40001);
    private static readonly IPEndPoint Client2 = new(IPAddress.Parse("127.0.0.2"), 40002);
    private static readonly IPEndPoint Client3 = new(IPAddress.Parse("127.0.0.3"), 40003);
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-30T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly PatchDatabase _db;
    private readonly BlobStore _store;
    private readonly SourceTable _sources = new();

    public PeerSourcesTests()
    {
        _db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        _store = new BlobStore(_dir.Sub("blobs"), _db, new BlobStoreOptions(), _time);
        _store.RecoverAtStartup();
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task AHitListsTheHoldersFirst_TheServerLast_AndTheAskerBecomesASourceForTheNext()
    {
        var server = Server(peerServing: true);
        var (sha, size) = await StoreAsync(server);
        server.Handle(new Hello("nclient1", "i1", Os, 50001, "0.1.0"), Client1);
        server.Handle(new Hello("nclient2", "i2", Os, 50002, "0.1.0"), Client2);
        _sources.AddHolder(sha, "nholder", new Uri("http://127.0.0.9:50009/"), _time.GetUtcNow());

        var first = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, size, "nclient1"), Client1));

        Assert.Equal(LookupOutcome.Hit, first.Outcome);
        Assert.Equal("/v1/blobs/" + sha, first.BlobUrl); // older clients still fetch from the server
        Assert.Equal(["nholder", "nserver"], first.Sources!.Select(s => s.NodeId));
        Assert.Equal($"http://127.0.0.9:50009/v1/blobs/{sha}", first.Sources![0].BlobUrl);
        Assert.Equal($"http://127.0.0.1:47471/v1/blobs/{sha}", first.Sources![1].BlobUrl);
        Assert.Equal(PieceList.DefaultPieceSize, first.PieceSize);
        Assert.True(first.IsValid());

        var second = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, size, "nclient2"), Client2));

        Assert.Equal(["nholder", "nclient1", "nserver"], second.Sources!.Select(s => s.NodeId));
        Assert.Equal($"http://127.0.0.1:50001/v1/blobs/{sha}", second.Sources![1].BlobUrl);
    }

    [Fact]
    public async Task WhenNoPeerHoldsIt_TheServerIsTheOnlySource()
    {
        var server = Server(peerServing: true);
        var (sha, size) = await StoreAsync(server);

        var hit = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, size, "nclient1"), Client1));

        Assert.Equal("nserver", Assert.Single(hit.Sources!).NodeId);
    }

    [Fact]
    public async Task WithPeerServingOff_AHitListsNoSources_AsBefore()
    {
        var server = Server(peerServing: false);
        var (sha, size) = await StoreAsync(server);
        _sources.AddHolder(sha, "nholder", new Uri("http://127.0.0.9:50009/"), _time.GetUtcNow());

        var hit = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, size, "nclient1"), Client1));

        Assert.Equal(LookupOutcome.Hit, hit.Outcome);
        Assert.Null(hit.Sources);
        Assert.Equal(0, hit.PieceSize);
        Assert.Equal("/v1/blobs/" + sha, hit.BlobUrl);
    }

    /// <summary>
    /// Two servers in the same state (the same holders, the same randomness), one asked in full and one compactly by the
    /// same asker: the compact answer, spelled out as the asker does it against the server it reached, is byte for byte
    /// the full one, and never longer. Over holders (none to more than fit), likely holders, askers inside and outside
    /// the server's subnets, peer serving on and off, and a blob held by the server or only reported by another node.
    /// </summary>
    [Fact]
    public async Task ACompactHit_SpelledOutByTheAsker_IsByteForByteTheFullHit_AndNeverLonger()
    {
        var (sha, size) = await StoreAsync(Server(peerServing: true));
        var elsewhere = new string('e', 64); // a blob only another node reported (inventory): a hit at that node
        const string Outsider = "198.51.100.7"; // TEST-NET-2: in none of this machine's subnets, so the server is not listed
        var cases = from holders in Gen.Choose(0, 12)
                    from likely in Gen.Choose(0, 3)
                    from asker in Gen.Elements("127.0.0.1", "127.0.0.2", Outsider)
                    from peerServing in Gen.Elements(true, false)
                    from held in Gen.Elements(true, false)
                    from unit in Gen.Choose(0, 99)
                    select (holders, likely, asker, peerServing, held, unit);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var asked = c.held ? sha : elsewhere;
            var answers = new[] { false, true }.Select(compact =>
            {
                var sources = new SourceTable();
                var reported = new HolderIndex();
                reported.Add(new PatchRecord(Os, "KB2", elsewhere, 5000, null, _time.GetUtcNow(), "nreporter", 0, null), new Uri("http://127.0.0.8:50008/"), out _);
                for (var h = 0; h < c.holders; h++)
                {
                    sources.AddHolder(asked, $"nholder{h}", new Uri($"http://127.0.1.{h + 1}:5{h:0000}/"), _time.GetUtcNow());
                }

                for (var l = 0; l < c.likely; l++)
                {
                    sources.AddLikely(asked, $"nlikely{l}", _time.GetUtcNow());
                }

                var server = Server(c.peerServing, sources, new FixedRandom(c.unit / 100.0), reported);
                var lookup = new Lookup(Os, c.held ? "KB1" : "KB2", asked, c.held ? size : 5000, "nasker", compact);
                return Assert.IsType<LookupResult>(server.Handle(lookup, new IPEndPoint(IPAddress.Parse(c.asker), 40009)));
            }).ToArray();
            var (full, compact) = (answers[0], answers[1]);

            Assert.True(compact.IsValid());
            Assert.Equal(LookupOutcome.Hit, compact.Outcome);
            // Spelled out at the address the full form names (for a loopback asker, its own; a real asker uses the one
            // it dialed, the same on a single-homed server), so that the two can be compared byte for byte.
            var spelled = compact.Expand("nserver", new Uri($"http://{c.asker}:47471/"));
            Assert.Equal(Convert.ToHexString(WireCodec.Encode(Envelope.Of(1, full))), Convert.ToHexString(WireCodec.Encode(Envelope.Of(1, spelled))));
            Assert.True(WireCodec.Encode(Envelope.Of(1, compact)).Length <= WireCodec.Encode(Envelope.Of(1, full)).Length);
            Assert.Equal(c.held && c.peerServing && c.asker != Outsider, compact.ServerListed);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public async Task WhenTheServerIsTheOnlySource_ACompactHitTakesUnderHalfTheFullHitsBytes_AndAnAskerThatDidNotAskForItGetsTheFullOne()
    {
        var server = Server(peerServing: true);
        var (sha, size) = await StoreAsync(server);

        var full = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, size, "nclient1"), Client1));
        var compact = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, size, "nclient2", CompactHit: true), Client1));

        Assert.False(full.ServerListed);
        Assert.Equal("/v1/blobs/" + sha, full.BlobUrl);
        Assert.Equal("nserver", Assert.Single(full.Sources!).NodeId);
        Assert.True(compact.ServerListed);
        Assert.Null(compact.BlobUrl);
        Assert.Null(compact.Sources);
        Assert.Equal(PieceList.DefaultPieceSize, compact.PieceSize);
        var (fullBytes, compactBytes) = (WireCodec.Encode(Envelope.Of(1, full)).Length, WireCodec.Encode(Envelope.Of(1, compact)).Length);
        Assert.True(compactBytes * 2 < fullBytes, $"compact {compactBytes} bytes, full {fullBytes}");

        // This node's own pass (no endpoint) takes the answer as it is, whatever it asked.
        var own = server.Lookup(new Lookup(Os, "KB1", sha, size, "nserver", CompactHit: true));
        Assert.False(own.ServerListed);
        Assert.Equal("/v1/blobs/" + sha, own.BlobUrl);
    }

    [Fact]
    public void AClaimHolderThatReportedTheBlob_BeforeItsPushLands_IsWhereTheNextAskersAreSent_WithNoSecondClaim()
    {
        var server = Server(peerServing: true);
        var sha = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        const long Size = 5_300_000;
        server.Handle(new Hello("nclient1", "i1", Os, 50001, "0.1.0"), Client1);
        server.Handle(new Hello("nclient2", "i2", Os, 50002, "0.1.0"), Client2);
        server.Handle(new Hello("nclient3", "i3", Os, 50003, "0.1.0"), Client3);

        var claim = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, Size, "nclient1"), Client1));
        var streaming = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, Size, "nclient2"), Client2));
        Assert.Equal(LookupOutcome.Miss, claim.Outcome);
        Assert.Equal(LookupOutcome.InFlight, streaming.Outcome); // nobody holds it yet: through the server, as it is pushed

        // nclient1's download is stored and reported (the delta report); its push is still on the way here.
        _sources.AddHolder(sha, "nclient1", new Uri("http://127.0.0.1:50001/"), _time.GetUtcNow());
        var second = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, Size, "nclient2"), Client2));
        var third = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, Size, "nclient3"), Client3));

        Assert.Equal(LookupOutcome.Hit, second.Outcome);
        Assert.Equal((sha, Size), (second.Sha256, second.Size)); // what the asker's own upstream list says, checked by it
        Assert.Equal(["nclient1"], second.Sources!.Select(s => s.NodeId)); // not this server: it does not hold it yet
        Assert.Equal($"http://127.0.0.1:50001/v1/blobs/{sha}", second.Sources![0].BlobUrl);
        Assert.Equal("/v1/blobs/" + sha, second.BlobUrl); // this server's path: no holder is taken for the server
        Assert.True(second.IsValid());
        Assert.Equal(["nclient1", "nclient2"], third.Sources!.Select(s => s.NodeId)); // the one receiving serves its pieces too
        Assert.False(_store.Contains(sha));

        // Asked compactly: the same holders, the path left out, and this server not listed (it does not hold the blob).
        var compact = Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", sha, Size, "nclient3", CompactHit: true), Client3));
        Assert.Equal((LookupOutcome.Hit, null, false), (compact.Outcome, compact.BlobUrl, compact.ServerListed));
        Assert.Equal(["nclient1", "nclient2"], compact.Sources!.Select(s => s.NodeId));
        Assert.Equal("/v1/blobs/" + sha, compact.Expand("nserver", new Uri("http://127.0.0.1:47471/")).BlobUrl);

        // The claim is still nclient1's: nobody else is sent to the internet for it.
        Assert.True(server.IsBeingFetched(sha));
    }

    [Fact]
    public void APeerHoldersWordIsTaken_OnlyWhileAClaimIsLive_ForALookupThatNamesTheUpstreamHashAndSize_FromAnotherNode_WithPeerServingOn()
    {
        var sha = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        _sources.AddHolder(sha, "nholder", new Uri("http://127.0.0.9:50009/"), _time.GetUtcNow());
        LookupResult Ask(PatchServer server, string? expected, long size, string node) => node == "nserver"
            ? server.Lookup(new Lookup(Os, "KB1", expected, size, node)) // the server's own pass
            : Assert.IsType<LookupResult>(server.Handle(new Lookup(Os, "KB1", expected, size, node), Client2));

        // No claim on it: an inventory alone sends nobody away (the holder may have evicted it; the next miss gets a claim).
        var on = Server(peerServing: true);
        var first = Ask(on, sha, 1000, "nclient1");
        Assert.Equal(LookupOutcome.Miss, first.Outcome);

        // The claim is live from here on.
        Assert.Equal(LookupOutcome.Hit, Ask(on, sha, 1000, "nclient2").Outcome);
        Assert.NotEqual(LookupOutcome.Hit, Ask(on, null, -1, "nclient2").Outcome); // the asker names no hash
        Assert.NotEqual(LookupOutcome.Hit, Ask(on, sha, -1, "nclient2").Outcome); // nor a size
        Assert.NotEqual(LookupOutcome.Hit, Ask(on, sha, 1000, "nserver").Outcome); // the server's own pass waits for the push
        _sources.ReportFailed("nholder", _time.GetUtcNow());
        Assert.NotEqual(LookupOutcome.Hit, Ask(on, sha, 1000, "nclient2").Outcome); // its only holder failed lately
        for (var waited = TimeSpan.Zero; waited < SourceTable.FailurePenalty; waited += TimeSpan.FromSeconds(5))
        {
            _time.Advance(TimeSpan.FromSeconds(5)); // the claim's holder renews it, with progress, meanwhile
            Assert.True(Assert.IsType<Ack>(on.Handle(new ClaimRenew(first.ClaimId, 1 + (long)waited.TotalSeconds, Os, "KB1", sha, 1000, "nclient1"), Client1)).Ok);
        }

        Assert.Equal(LookupOutcome.Hit, Ask(on, sha, 1000, "nclient2").Outcome);

        on.Handle(new ClaimRelease(first.ClaimId, "download failed"), Client1);
        Assert.NotEqual(LookupOutcome.Hit, Ask(on, sha, 1000, "nclient2").Outcome);

        var off = Server(peerServing: false);
        Assert.Equal(LookupOutcome.Miss, Ask(off, sha, 1000, "nclient1").Outcome);
        Assert.NotEqual(LookupOutcome.Hit, Ask(off, sha, 1000, "nclient2").Outcome);
    }

    private PatchServer Server(bool peerServing, SourceTable? sources = null, IRandomSource? random = null, HolderIndex? holders = null)
    {
        var options = new CoreOptions { DataDir = _dir.Path, HttpPort = 47471 };
        var self = new NodeIdentity("nserver", "instance1", Os, "0.1.0");
        var cluster = new ClusterState(new ClusterOptions { Role = RoleSetting.Server }, self, _time);
        var policy = new ClaimPolicy(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(2));
        var index = new PatchIndex();
        var claims = new ClaimTable(policy, new SystemRandomSource());
        var lanPolicy = new PolicyStore(_db, new ClusterAuth(null, self, _time), self, new InMemoryRingEvidence(), index, _time, NullLogger<PolicyStore>.Instance);
        return new PatchServer(
            _store, index, claims, policy, new HitRecorder(_db, _time, NullLogger<HitRecorder>.Instance),
            holders ?? new HolderIndex(), new InternetGate(lanPolicy, claims, _time), cluster, self, new HttpEndpointInfo(options), new NodeStats(), _time, NullLogger<PatchServer>.Instance,
            sources ?? _sources, new ServingOptions { PeerServing = peerServing }, random ?? new SystemRandomSource(), new ServerAddresses(_time));
    }

    private async Task<(string Sha, long Size)> StoreAsync(PatchServer server)
    {
        var bytes = RandomNumberGenerator.GetBytes(70_000);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.True((await _store.WriteAsync(new MemoryStream(bytes), sha, bytes.Length, long.MaxValue, default)).Succeeded);
        server.OnStored(Os, "KB1", sha, bytes.Length);
        return (sha, bytes.Length);
    }
}
