using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Cluster;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>
/// The adversarial election suite on <see cref="SimulatedLan"/>: an attacker without the key forges mDNS adverts
/// (<see cref="AttackPlan"/>). With a key the honest members never notice; without one, they heal within 5 s of the
/// attacker stopping, with sane terms.
/// </summary>
public sealed class ElectionAttackTests(ITestOutputHelper output)
{
    private static readonly Gen<AttackPlan> Plans =
        from nodes in Gen.Choose(2, 6)
        from seed in Gen.Choose(0, int.MaxValue)
        from seconds in Gen.Choose(2, 20)
        from copy in Gen.Elements(true, true, false)
        from atReal in Gen.Elements(false, true)
        from displace in Gen.Elements(false, true)
        from fakes in Gen.Elements(0, 0, 1, 3, 40)
        from flap in Gen.Elements(false, true)
        select new AttackPlan(nodes, seed, TimeSpan.FromSeconds(seconds), copy, atReal, displace, fakes, flap);

    [Fact]
    public void KeyedLan_UnderAnyForgedAdverts_KeepsOneServer_AndItsTerm()
    {
        Prop.ForAll(Plans.ToArbitrary(), plan =>
        {
            var harm = Attack(keyed: true, plan);
            Assert.True(harm.Clean, $"{plan}: {harm}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void OpenLan_AfterAnyForgedAdverts_HealsToOneServerWithin5s_WithSaneTerms()
    {
        Prop.ForAll(Plans.ToArbitrary(), plan =>
        {
            var lan = new SimulatedLan(plan.Nodes);
            lan.RunUntilConverged(TimeSpan.FromSeconds(3));
            lan.Forger = plan.Forge(lan);
            lan.Run(plan.Duration);

            lan.Forger = null; // gone: goodbyes sent, or its records expired
            var healed = lan.RunUntilConverged(TimeSpan.FromSeconds(5));

            Assert.All(lan.Live, n => Assert.InRange(n.Term, 0, TermGuard.Max));
            lan.Run(TimeSpan.FromSeconds(5));
            Assert.True(lan.Converged(), $"{plan}: split again after healing in {healed}: {lan.Describe()}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    /// <summary>The case: a member's id and TXT copied at the attacker's address as server of term 999, for 40 s.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void KeyedLan_MemberCopiedAtAnotherAddressAsServerOfTerm999_For40s_ChangesNothing(bool copyTheServer)
    {
        var lan = new SimulatedLan(3, keyed: true);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        var victim = lan.Live.First(n => n.IsServer == copyTheServer);
        var forged = new Member(victim.SelfId, AttackPlan.AttackerAddress, 47470, 47471, victim.Self.Priority, victim.Self.Since, IsServer: true, Term: 999);
        lan.Forger = _ => [(forged, true)];

        var harm = Measure(lan, TimeSpan.FromSeconds(40));

        output.WriteLine(harm.ToString());
        Assert.True(harm.Clean, harm.ToString());
    }

    /// <summary>The second case, open LAN: a server advert of term long.MaxValue for 30 s.</summary>
    [Fact]
    public void OpenLan_ServerAdvertWithTermMaxValue_For30s_HealsAfterwards_WithoutANegativeTerm()
    {
        var lan = new SimulatedLan(3);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        lan.Forger = _ => [(new Member("rogue", AttackPlan.AttackerAddress, 47470, 47471, 10, 5000, IsServer: true, Term: long.MaxValue), false)];
        var lowest = long.MaxValue;
        lan.Run(TimeSpan.FromSeconds(30), () => lowest = Math.Min(lowest, lan.Live.Min(n => n.Term)));

        lan.Forger = null;
        var servers = 0;
        lan.Run(TimeSpan.FromSeconds(5), () => lowest = Math.Min(lowest, lan.Live.Min(n => n.Term)));
        servers = lan.Live.Count(n => n.IsServer);

        output.WriteLine($"5 s after the rogue stopped: {servers} servers, lowest term seen {lowest}: {lan.Describe()}");
        Assert.True(lan.Converged(), lan.Describe());
        Assert.True(lowest >= 0, $"lowest term {lowest}");
        Assert.All(lan.Live, n => Assert.InRange(n.Term, 0, TermGuard.Max));
    }

    private static Harm Attack(bool keyed, AttackPlan plan)
    {
        var lan = new SimulatedLan(plan.Nodes, keyed: keyed);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        lan.Forger = plan.Forge(lan);
        return Measure(lan, plan.Duration);
    }

    /// <summary>Runs the attack and counts what it did to the honest members.</summary>
    private static Harm Measure(SimulatedLan lan, TimeSpan duration)
    {
        var server = lan.Live.Single(n => n.IsServer).SelfId;
        var terms = lan.Live.ToDictionary(n => n.SelfId, n => n.Term);
        var harm = new Harm();
        lan.Run(duration, () =>
        {
            var servers = lan.Live.Count(n => n.IsServer);
            harm.MaxServers = Math.Max(harm.MaxServers, servers);
            if (servers != 1 || !lan.Nodes[server].IsServer || lan.Live.Any(n => n.ServerId != server))
            {
                harm.BadTime += SimulatedLan.Step;
            }

            harm.TermChanges += lan.Live.Count(n => n.Term != terms[n.SelfId]);
            harm.MaxTerm = Math.Max(harm.MaxTerm, lan.Live.Max(n => n.Term));
            harm.MinTerm = Math.Min(harm.MinTerm, lan.Live.Min(n => n.Term));
            foreach (var n in lan.Live)
            {
                terms[n.SelfId] = n.Term;
            }
        });
        harm.Final = lan.Describe();
        return harm;
    }

    private sealed class Harm
    {
        public int MaxServers { get; set; }

        public TimeSpan BadTime { get; set; }

        public int TermChanges { get; set; }

        public long MaxTerm { get; set; } = long.MinValue;

        public long MinTerm { get; set; } = long.MaxValue;

        public string Final { get; set; } = string.Empty;

        public bool Clean => MaxServers == 1 && BadTime == TimeSpan.Zero && TermChanges == 0;

        public override string ToString() =>
            $"up to {MaxServers} servers, {BadTime.TotalSeconds:0.00} s without exactly the one real server followed by all, {TermChanges} term changes (terms {MinTerm}..{MaxTerm}); at the end {Final}";
    }
}
