using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Policy;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Tests.Policy;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Serving;

public sealed class PolicyStoreTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly WatchedClock _time = new();
    private readonly NodeIdentity _self = new("n-server", "i1", "debian-12-amd64", "test");
    private readonly InMemoryRingEvidence _evidence = new();
    private readonly PatchIndex _index = new();
    private readonly ClusterKey _key = ClusterKey.Generate();

    public PolicyStoreTests()
    {
        _evidence.Node("n-lab1", "lab-01", "0");
        _evidence.Node("n-pc7", "office-07", "1");
        _index.Add("debian-12-amd64", "linux-security-6.1", new string('a', 64), 10);
    }

    public void Dispose() => _dir.Dispose();

    private PolicyStore Open(ClusterKey? key = null, string db = "server.db") =>
        new(PatchDatabase.Open(_dir.Sub(db)), new ClusterAuth(key, _self, _time), _self, _evidence, _index, _time, NullLogger<PolicyStore>.Instance);

    [Fact]
    public void AGoodPolicy_BecomesTheNextVersion_SurvivesARestart_AndIsSealed()
    {
        var store = Open(_key);
        Assert.Equal(0, store.Current.Version);

        var set = store.TrySet(Encoding.UTF8.GetBytes(PolicyParserTests.Example.Replace("n-lab1\"]", "n-lab1\", \"n-pc7\"]", StringComparison.Ordinal).Replace("\"KB5031356\"", "\"KB5031356\"", StringComparison.Ordinal)), "n-admin");
        Assert.True(set.Ok, string.Join("\n", set.Errors));
        Assert.Equal(1, set.State.Version);
        Assert.True(PolicySeal.Verify(_key, set.State.Text, set.State.Seal, out var why), why);
        Assert.False(PolicySeal.Verify(ClusterKey.Generate(), set.State.Text, set.State.Seal, out _));

        var reopened = Open(_key);
        Assert.Equal(1, reopened.Current.Version);
        Assert.Equal("n-admin", reopened.Current.Envelope.SetBy);
    }

    [Fact]
    public void ABadPolicy_ListsEveryProblem_AndTheOldOneStays()
    {
        var store = Open();
        Assert.True(store.TrySet("""{"rings": {"ring0": {"ringSettings": ["0"]}}}"""u8, "n-admin").Ok);

        var bad = store.TrySet("""{"rings": {"ring0": {"hostnames": ["nomatch-*"]}, "delay": "tomorrow"}, "colour": "blue"}"""u8, "n-admin");

        Assert.False(bad.Ok);
        Assert.Equal(3, bad.Errors.Count);
        Assert.Equal(1, store.Current.Version);
        Assert.Equal(["0"], store.Current.Document.Rings.RingSettings);
    }

    [Fact]
    public void MalformedDocuments_NeverThrow_AndAlwaysKeepTheOldPolicy()
    {
        var store = Open();
        Assert.True(store.TrySet("""{"internet": {"rateCap": 1000}}"""u8, "n-admin").Ok);
        var before = store.Current;
        var cases = Gen.ArrayOf(Gen.Elements("{", "}", "[", "]", ",", ":", "\"rings\"", "\"ring0\"", "\"x\"", "1", "-", "\"19:00-07:00\"", "null", " ", "\"internet\"", "\"windows\""));
        Prop.ForAll(cases.ToArbitrary(), parts =>
        {
            var result = store.TrySet(Encoding.UTF8.GetBytes(string.Concat(parts)), "n-fuzz");
            Assert.True(!result.Ok || result.State.Version > before.Version);
            if (!result.Ok)
            {
                Assert.NotEmpty(result.Errors);
                Assert.Same(store.Current, result.State);
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void ANewServer_AdoptsTheHighestSealedVersionANodeOffers_AndRefusesForgeries()
    {
        var old = Open(_key, "old.db");
        old.TrySet("""{"held": [{"patch": "KB1"}]}"""u8, "n-admin");
        old.TrySet("""{"held": [{"patch": "KB2"}]}"""u8, "n-admin");
        var offered = old.Current;

        var fresh = Open(_key, "new.db");
        Assert.False(fresh.TryAdopt(offered.Text.Replace("KB2", "KB3", StringComparison.Ordinal), offered.Seal, out _)); // altered after sealing
        Assert.False(fresh.TryAdopt(offered.Text, null, out _)); // unsealed on a keyed LAN
        Assert.True(fresh.TryAdopt(offered.Text, offered.Seal, out var error), error);
        Assert.Equal(2, fresh.Current.Version);
        Assert.False(fresh.TryAdopt(offered.Text, offered.Seal, out _)); // not newer

        var next = fresh.Change("diag", d => d with { Approved = [new PatchRule("KB9", null)] });
        Assert.Equal(3, next.State.Version);
    }

    [Fact]
    public void Ring0sRecord_IsComputedFromTheEvidence_ForRing0NodesOnly()
    {
        var store = Open();
        Assert.True(store.TrySet("""{"rings": {"ring0": {"ringSettings": ["0"]}}}"""u8, "n-admin").Ok);
        var t = _time.GetUtcNow();
        _evidence.Report("n-lab1", "debian-12-amd64", "KB1", applied: true, t);
        _evidence.Report("n-pc7", "debian-12-amd64", "KB1", applied: true, t.AddHours(-5)); // not ring 0: does not count
        _evidence.Report("n-lab1", "debian-12-amd64", "KB2", applied: false, t);

        var ring0 = store.WithRing0().Ring0;

        Assert.Equal(t, Assert.Single(ring0, r => r.Patch == "KB1").FirstApplied);
        Assert.Equal("n-lab1", Assert.Single(ring0, r => r.Patch == "KB2").FailedOn);
    }

    [Fact]
    public void TheServer_HoldsAMissOutsideTheWindow_GrantsUrgentOnes_AndSharesTheCapAmongClaims()
    {
        var store = Open();
        var localHour = TimeZoneInfo.ConvertTime(_time.GetUtcNow(), _time.LocalTimeZone).Hour;
        var window = $"{(localHour + 2) % 24:00}:00-{(localHour + 4) % 24:00}:00"; // starts two hours from now
        Assert.True(store.TrySet(Encoding.UTF8.GetBytes("{\"internet\": {\"rateCap\": \"3 MB/s\", \"windows\": [\"" + window + "\"], \"urgent\": \"linux-security-*\"}}"), "n-admin").Ok);
        var policy = new ClaimPolicy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250), TimeSpan.Zero);
        var claims = new ClaimTable(policy, new SystemRandomSource());
        var gate = new InternetGate(store, claims, _time);

        var now = _time.MonotonicNow();
        var first = claims.Acquire("a", null, "n1", now);
        Assert.StartsWith("outside download window", gate.Admit(first.ClaimId, "KB1", 100));
        var urgent = claims.Acquire("b", null, "n1", now);
        Assert.Null(gate.Admit(urgent.ClaimId, "linux-security-6.1", 100));
        claims.Acquire("c", null, "n2", now);
        Assert.Equal(950_000, gate.Allowance()); // 95 % of 3 MB/s over three live claims

        _time.Advance(TimeSpan.FromHours(2));
        var later = claims.Acquire("d", null, "n3", _time.MonotonicNow());
        Assert.Null(gate.Admit(later.ClaimId, "KB1", 100));
    }

    [Fact]
    public void TheSharesHandedOut_NeverAddUpToMoreThanTheCap_WhileClaimsJoinLeaveAndRenew()
    {
        var store = Open();
        Assert.True(store.TrySet("""{"internet": {"rateCap": 1000000}}"""u8, "n-admin").Ok);
        var claims = new ClaimTable(new ClaimPolicy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250)), new SystemRandomSource());
        var gate = new InternetGate(store, claims, _time);
        var held = new Dictionary<ulong, long>(); // what each holder may use until its next renewal
        var random = new Random(7);
        for (var step = 0; step < 400; step++)
        {
            var now = _time.MonotonicNow();
            if (held.Count < 6 && random.Next(3) == 0)
            {
                var claim = claims.Acquire($"k{step}", null, $"n{step}", now);
                held[claim.ClaimId] = gate.Allowance(claim.ClaimId); // the miss
            }
            else if (held.Count > 0 && random.Next(4) == 0)
            {
                var done = held.Keys.ElementAt(random.Next(held.Count));
                claims.Release(done);
                held.Remove(done);
            }
            else if (held.Count > 0)
            {
                var renewing = held.Keys.ElementAt(random.Next(held.Count));
                claims.Renew(renewing, step, now);
                held[renewing] = gate.Allowance(renewing);
            }

            Assert.True(held.Values.Sum() <= 1_000_000 + held.Count, $"step {step}: {string.Join(", ", held.Values)}"); // the cap, and at most 1 byte/s per holder granted only that
        }

        // Renewed in turn, every holder ends with its fair share.
        foreach (var id in held.Keys.ToList())
        {
            held[id] = gate.Allowance(id);
        }

        foreach (var id in held.Keys.ToList())
        {
            held[id] = gate.Allowance(id);
        }

        Assert.All(held.Values, v => Assert.Equal(950_000 / held.Count, v));
    }

    [Fact]
    public void AnAdoptedClaim_IsChargedOnce_EvenOutsideTheWindowAndPastTheQuota_AndRefundedWhenItsDownloadFails()
    {
        var store = Open();
        var localHour = TimeZoneInfo.ConvertTime(_time.GetUtcNow(), _time.LocalTimeZone).Hour;
        var window = $"{(localHour + 2) % 24:00}:00-{(localHour + 4) % 24:00}:00"; // not now: a new miss would be held
        Assert.True(store.TrySet(Encoding.UTF8.GetBytes("{\"internet\": {\"windows\": [\"" + window + "\"], \"dailyQuota\": \"1 KB\"}}"), "n-admin").Ok);
        var claims = new ClaimTable(new ClaimPolicy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250)), new SystemRandomSource());
        var gate = new InternetGate(store, claims, _time);

        gate.Adopt(77, 5000); // admitted by the previous server, already downloading: counted here, never held
        gate.Adopt(77, 5000); // its holder renews again
        Assert.Equal(5000, gate.UsedToday());
        gate.Adopt(78, 700);
        Assert.Equal(5700, gate.UsedToday());

        gate.Refund(77); // its download failed
        Assert.Equal(700, gate.UsedToday());
        gate.Done(78); // stored: the charge stands
        gate.Refund(78);
        Assert.Equal(700, gate.UsedToday());
    }

    [Fact]
    public void TodaysQuota_SurvivesAClockSetToAnotherDayAndBack_FollowedByARestart()
    {
        var store = Open();
        Assert.True(store.TrySet("""{"internet": {"dailyQuota": "1 KB"}}"""u8, "n-admin").Ok);
        var db = PatchDatabase.Open(_dir.Sub("gate.db"));
        var clock = new JumpyTimeProvider(); // the wall clock, which can be set back (a fake clock cannot)
        ClaimTable Claims() => new(new ClaimPolicy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250)), new SystemRandomSource());
        var gate = new InternetGate(store, Claims(), clock, db);
        Assert.Null(gate.Admit(1, "KB1", 600)); // today: 600 of 1 KB

        clock.Jump(TimeSpan.FromDays(3)); // a wrong NTP answer or a dead RTC battery: another day for a while
        Assert.Null(gate.Admit(2, "KB2", 100));
        clock.Jump(TimeSpan.FromDays(-3)); // and back to today
        Assert.Equal(600, gate.UsedToday()); // in memory, today's charges are kept

        // The server restarts (an update, a power cut) still today: its 600 bytes must still count.
        var restarted = new InternetGate(store, Claims(), clock, db);
        Assert.Equal(600, restarted.UsedToday());
        Assert.NotNull(restarted.Admit(3, "KB3", 600)); // before: admitted, 1,200 bytes of a 1 KB quota in one day
    }

    [Fact]
    public async Task TodaysQuota_HeardFromTheServersHeartbeats_HoldsTheFollowerElectedNext_WithoutChargingDownloadsUnderWayTwice()
    {
        var store = Open();
        Assert.True(store.TrySet("""{"internet": {"dailyQuota": "1 KB"}}"""u8, "n-admin").Ok);
        ClaimTable Claims() => new(new ClaimPolicy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250)), new SystemRandomSource());
        var claims = Claims();
        var server = new InternetGate(store, claims, _time);
        var done = claims.Acquire("kb1", null, "n-pc1", _time.MonotonicNow());
        Assert.Null(server.Admit(done.ClaimId, "KB1", 300)); // downloaded and stored:
        server.Done(done.ClaimId);
        claims.Release(done.ClaimId);
        var underWay = claims.Acquire("kb2", null, "n-pc2", _time.MonotonicNow());
        Assert.Null(server.Admit(underWay.ClaimId, "KB2", 600)); // still downloading when the server dies
        Assert.Equal(900, server.UsedToday());
        var (day, used) = server.Today();
        Assert.Equal(InternetBudget.Day(TimeZoneInfo.ConvertTime(_time.GetUtcNow(), _time.LocalTimeZone)).DayNumber, day);
        Assert.Equal(300, used); // what the heartbeats carry: the download under way is charged by whoever adopts its claim

        var db = PatchDatabase.Open(_dir.Sub("follower.db"));
        var follower = new InternetGate(store, Claims(), _time, db);
        follower.Heard(day, 100); // an earlier heartbeat
        follower.Heard(day, used);
        follower.Heard(day, 100); // a heartbeat read late: the larger count stands
        follower.Heard(day + 5, 500); // a server whose clock is days off: not a day of this node's
        follower.Heard(day - 2, 500);
        follower.Heard(day, -1);
        follower.Heard(day, Heartbeat.MaxInternetUsed + 1); // no heartbeat carries this (a forged one is refused whole)
        Assert.Equal(300, follower.UsedToday());
        var saved = $"{DateOnly.FromDayNumber(day):yyyy-MM-dd} 300";
        for (var waited = 0; db.GetMeta(InternetGate.MetaKey) != saved; waited++)
        {
            Assert.True(waited < 2000, $"the heard count was not saved within 20 s: {db.GetMeta(InternetGate.MetaKey)}"); // saved off the caller's thread
            await Task.Delay(10);
        }

        // The server dies; this follower is elected, and the holder of the download under way renews its claim with it.
        follower.Adopt(underWay.ClaimId, 600);
        Assert.Equal(900, follower.UsedToday()); // before: 1,500 (600 charged twice), or 600 without the heartbeats' count
        Assert.NotNull(follower.Admit(3, "KB3", 200));
        Assert.Null(follower.Admit(4, "KB4", 100)); // what is left of the quota is still handed out
        var restarted = new InternetGate(store, Claims(), _time, db); // and after its own restart, from its database
        Assert.Equal(1000, restarted.UsedToday());
        Assert.NotNull(restarted.Admit(5, "KB5", 1));
    }

    [Fact]
    public void ARestartedServer_ChargesADownloadUnderWayOnce_WhenItsHolderRenewsWithIt()
    {
        var store = Open();
        Assert.True(store.TrySet("""{"internet": {"dailyQuota": "1 KB"}}"""u8, "n-admin").Ok);
        ClaimTable Claims() => new(new ClaimPolicy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250)), new SystemRandomSource());
        var db = PatchDatabase.Open(_dir.Sub("restart.db"));
        var claims = Claims();
        var gate = new InternetGate(store, claims, _time, db);
        var underWay = claims.Acquire("kb1", null, "n-pc1", _time.MonotonicNow());
        Assert.Null(gate.Admit(underWay.ClaimId, "KB1", 600));

        // kill -9 and a restart: claims live in memory only, so the holder's next renewal is adopted anew.
        var afterRestart = Claims();
        var restarted = new InternetGate(store, afterRestart, _time, db);
        Assert.True(afterRestart.Adopt(underWay.ClaimId, "kb1", new string('c', 64), "n-pc1", 100, _time.MonotonicNow()));
        restarted.Adopt(underWay.ClaimId, 600);

        Assert.Equal(600, restarted.UsedToday()); // before: 1,200 (the database kept it, and the renewal charged it again)
        Assert.NotNull(restarted.Admit(2, "KB2", 500));
        Assert.Null(restarted.Admit(3, "KB3", 400));
    }

    [Fact]
    public void AnApprovalPastTheListLimit_IsRefused_AndNeverStoresAVersionThatNodesOrARestartCannotRead()
    {
        // Approvals pile up over the years (one per Windows KB a month): `policy approve` adds to the list, while the
        // parser every node and a restarted server read the envelope with allows PolicyParser.MaxEntries.
        var store = Open(_key);
        var full = string.Join(", ", Enumerable.Range(0, PolicyParser.MaxEntries).Select(i => $"{{\"patch\": \"KB{i}\"}}"));
        Assert.True(store.TrySet(Encoding.UTF8.GetBytes($"{{\"approved\": [{full}], \"held\": [{{\"patch\": \"openssl*\"}}]}}"), "n-admin").Ok);
        var rule = new PatchRule("KB-ONE-TOO-MANY", null);

        var over = store.Change("diag", d => d with { Approved = [.. d.Approved.Where(r => r != rule), rule], Held = [.. d.Held.Where(r => r != rule)] });

        Assert.False(over.Ok);
        Assert.NotEmpty(over.Errors);
        Assert.True(PolicyEnvelope.TryParse(store.Current.Text, out _, out var errors), string.Join("; ", errors));
        var reopened = Open(_key);
        Assert.Equal(1, reopened.Current.Version); // before: version 2 stored, unreadable: the restarted server fell back to the defaults (the hold gone)
        Assert.Equal([new PatchRule("openssl*", null)], reopened.Current.Document.Held);
    }

    [Fact]
    public void TwoServersThatEachStoredTheSameVersion_ConvergeOnOneDocument_WhicheverWayTheCopiesMeet()
    {
        // Server 1 stores version 1 (hold KB-X) and dies before any node fetched it; server 2, elected, stores its own
        // version 1 (hold KB-Y) a minute later. Nodes then carry either copy, and server 1 may come back and be elected.
        var first = Open(_key, "first.db");
        Assert.True(first.TrySet("""{"held": [{"patch": "KB-X"}]}"""u8, "n-admin").Ok);
        _time.Advance(TimeSpan.FromMinutes(1));
        var second = Open(_key, "second.db");
        Assert.True(second.TrySet("""{"held": [{"patch": "KB-Y"}]}"""u8, "n-admin").Ok);
        Assert.Equal(first.Current.Version, second.Current.Version);
        var firstCopy = PolicyReplica.ToReply(first.Current);
        var secondCopy = PolicyReplica.ToReply(second.Current);

        // Each server is offered the other's copy (the PolicySync step of a node that holds it).
        first.TryAdopt(secondCopy.Envelope!, secondCopy.Seal, out _);
        second.TryAdopt(firstCopy.Envelope!, firstCopy.Seal, out _);
        Assert.Equal(second.Current.Text, first.Current.Text);
        Assert.Equal([new PatchRule("KB-Y", null)], first.Current.Document.Held); // the later one: what the admin set last

        // Nodes: one took server 1's copy first, the other server 2's; each then fetches from the other server.
        var a = Replica("a");
        var b = Replica("b");
        Assert.True(a.TryAccept(firstCopy, out var why), why);
        Assert.True(b.TryAccept(secondCopy, out why), why);
        a.TryAccept(secondCopy, out _);
        b.TryAccept(firstCopy, out _);
        Assert.Equal(a.Current.Text, b.Current.Text);
        Assert.Equal([new PatchRule("KB-Y", null)], b.Current.Document.Held);
    }

    [Fact]
    public void OnAnOpenLan_AnOfferedVersionNearTheTopOfTheRange_NeverFreezesThePolicy_AnAdminsSetStillWins()
    {
        // Without a key anyone may offer a copy. Before: an offer of version long.MaxValue holding "*" was adopted, and
        // every later change overflowed to a negative version and was refused: every patch held on every PC, for good
        // (a restart kept it).
        var store = Open();
        string Offer(long version, DateTimeOffset setAt) =>
            new PolicyEnvelope(version, "n-evil", setAt, PolicyDocument.Default with { Held = [new PatchRule("*", null)] }).ToJson();

        Assert.False(store.TryAdopt(Offer(long.MaxValue, _time.GetUtcNow()), null, out _));
        Assert.False(store.TryAdopt(Offer(PolicyEnvelope.MaxVersion, _time.GetUtcNow().AddDays(30)), null, out _)); // set in the future: would win every tie for a month
        Assert.True(store.TryAdopt(Offer(PolicyEnvelope.MaxVersion, _time.GetUtcNow()), null, out var why), why);

        _time.Advance(TimeSpan.FromSeconds(1));
        var set = store.TrySet("""{"held": [{"patch": "KB-BAD"}]}"""u8, "n-admin");

        Assert.True(set.Ok, string.Join("; ", set.Errors));
        Assert.Equal([new PatchRule("KB-BAD", null)], store.Current.Document.Held);
        var node = new PolicyReplica(new CoreOptions { DataDir = _dir.Sub("open-node") }, new ClusterAuth(null, _self, _time), _time, NullLogger<PolicyReplica>.Instance);
        Assert.True(node.TryAccept(new PeerPatch.Protocol.Status.PolicyReply(Offer(PolicyEnvelope.MaxVersion, _time.GetUtcNow().AddSeconds(-1)), null, [], DateTimeOffset.UnixEpoch), out why), why);
        Assert.True(node.TryAccept(PolicyReplica.ToReply(store.Current), out why), why); // the admin's copy replaces the forged one on the nodes too
        Assert.Equal([new PatchRule("KB-BAD", null)], Open().Current.Document.Held); // and after a restart
    }

    [Fact]
    public void AServerThatHoldsACopySetFarAhead_StoresTheAdminsNextSetAtItsOwnTime_AndNodesTakeIt()
    {
        // A copy of the highest version set 30 days ahead, in the server's database from before the adoption check (or
        // before its clock was set back). Before: the admin's next set was stamped after it (30 days ahead too), which
        // every node now refuses; and no offered copy could replace it.
        var pinned = new PolicyEnvelope(PolicyEnvelope.MaxVersion, "n-evil", _time.GetUtcNow().AddDays(30), PolicyDocument.Default with { Held = [new PatchRule("*", null)] }).ToJson();
        PatchDatabase.Open(_dir.Sub("server.db")).SavePolicy(PolicyEnvelope.MaxVersion, pinned, PolicySeal.Seal(_key, pinned, "n-evil", _time.GetUtcNow()), _time.GetUtcNow());
        var store = Open(_key);
        Assert.Equal(PolicyEnvelope.MaxVersion, store.Current.Version);

        var set = store.TrySet("""{"held": [{"patch": "KB-BAD"}]}"""u8, "n-admin");
        Assert.True(set.Ok, string.Join("; ", set.Errors));
        Assert.Equal(_time.GetUtcNow(), set.State.Envelope.SetAt);
        var node = Replica("node");
        Assert.True(node.TryAccept(PolicyReplica.ToReply(store.Current), out var why), why);
        Assert.Equal([new PatchRule("KB-BAD", null)], node.Current.Document.Held);

        // An offered copy replaces a held one set too far ahead as well (a server restarted with it in its database).
        var other = Open(_key, "other.db");
        other.TryAdopt(pinned, PolicySeal.Seal(_key, pinned, "n-evil", _time.GetUtcNow()), out _); // refused: set in the future
        Assert.Equal(0, other.Current.Version);
        PatchDatabase.Open(_dir.Sub("third.db")).SavePolicy(PolicyEnvelope.MaxVersion, pinned, PolicySeal.Seal(_key, pinned, "n-evil", _time.GetUtcNow()), _time.GetUtcNow());
        var third = Open(_key, "third.db");
        Assert.True(third.TryAdopt(store.Current.Text, store.Current.Seal, out why), why);
        Assert.Equal([new PatchRule("KB-BAD", null)], third.Current.Document.Held);
    }

    private PolicyReplica Replica(string name) =>
        new(new CoreOptions { DataDir = _dir.Sub(name) }, new ClusterAuth(_key, _self, _time), _time, NullLogger<PolicyReplica>.Instance);
}
