using System.Net;
using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Cluster;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>
/// How long a follower waits for its server, with fake time: 1.2 s on a quiet LAN, longer (at most 2 s) when the
/// server's heartbeats arrive irregularly, and never counting time the follower itself did not run.
/// The follower n1 is next in line, so a suspicion makes it the server with a new term: the harm a false one does.
/// </summary>
public sealed class ElectorPatienceTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
    private static readonly ElectionTiming Timing = SimulatedLan.Timing;
    private static readonly TimeSpan TickEvery = Timing.TickPeriod;

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    [Fact]
    public void QuietLan_AServerFallingSilent_IsSuspectedAfter1200ms()
    {
        var f = new Follower();
        f.Beats(Enumerable.Repeat(Ms(300), 40));
        Assert.Equal(Timing.HeartbeatTimeout, f.Elector.ServerTimeout.Timeout);

        var silence = f.SilenceUntilSuspected(TimeSpan.FromSeconds(10));

        Assert.InRange(silence, Timing.HeartbeatTimeout, Timing.HeartbeatTimeout + TickEvery);
        Assert.True(f.Elector.IsServer);
        Assert.Equal(2, f.Elector.Term);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void JitteryHeartbeats_300To1500ms_CauseNoSuspicion_ButASilenceLongerThanTheCapStillDoes(int seed)
    {
        var random = new Random(seed);
        var f = new Follower();
        f.Beats([Ms(300), Ms(1000)]); // a first irregular gap, still under 1.2 s: the detector has seen jitter
        f.Beats(Enumerable.Range(0, 300).Select(_ => Ms(300 + random.Next(1201)))); // about 4.5 minutes

        Assert.Equal("n0", f.Elector.ServerId);
        Assert.Equal(1, f.Elector.Term);
        var stretched = f.Elector.ServerTimeout.Timeout;
        output.WriteLine($"seed {seed}: timeout {stretched.TotalMilliseconds} ms (mean gap {f.Elector.ServerTimeout.Mean.TotalMilliseconds:0} ms, longest {f.Elector.ServerTimeout.Longest.TotalMilliseconds} ms)");
        Assert.InRange(stretched, Min(AdaptiveTimeout.LongestGapFactor * f.Elector.ServerTimeout.Longest, Timing.MaxHeartbeatTimeout), Timing.MaxHeartbeatTimeout);
        Assert.InRange(stretched, Ms(1950), Timing.MaxHeartbeatTimeout); // the window always holds gaps of 1.3 s and more

        var silence = f.SilenceUntilSuspected(TimeSpan.FromSeconds(10));

        Assert.InRange(silence, stretched, Timing.MaxHeartbeatTimeout + TickEvery);
        Assert.True(f.Elector.IsServer);
    }

    [Fact]
    public void AnyHeartbeatGaps_300To1500ms_WithinAWindowOfOneOf800ms_CauseNoSuspicion()
    {
        var gaps = Gen.ListOf(Gen.Choose(300, 1500).Select(ms => Ms(ms)));
        Prop.ForAll(gaps.ToArbitrary(), list =>
        {
            var f = new Follower();
            f.Beats([Ms(800), .. list.Take(AdaptiveTimeout.Window - 1)]); // 2 x 0.8 s covers any of them while it is in the window
            Assert.Equal("n0", f.Elector.ServerId);
            Assert.InRange(f.Elector.ServerTimeout.Timeout, Timing.HeartbeatTimeout, Timing.MaxHeartbeatTimeout);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }

    [Fact]
    public void AFollowerStarvedFor2s_DoesNotSuspectItsServer_WhoseHeartbeatArrivesWhenItRunsAgain()
    {
        var f = new Follower();
        f.Beats(Enumerable.Repeat(Ms(300), 10));
        f.RunFor(Ms(200));

        f.Now += TimeSpan.FromSeconds(2); // no tick, no heartbeat handled: the node did not get the CPU
        var woke = f.Elector.Tick(f.Now); // its timer runs before its receive loop catches up
        f.Elector.OnHeartbeat("n0", 1, 10, 1000, f.Now + Ms(5));

        Assert.Equal(DecisionKind.None, woke.Kind);
        Assert.Equal("n0", f.Elector.ServerId);
        Assert.Equal(1, f.Elector.Term);
        Assert.Equal(1, f.Elector.Clock.LateGaps);
        Assert.Equal(Ms(705), f.Elector.ServerTimeout.Longest); // in the gap between heartbeats too, the 2 s stall counted 0.5 s
    }

    [Fact]
    public void AFollowerStarvedAgainAndAgain_StillDetectsADeadServer_CountingOnlyTheTimeItRan()
    {
        var f = new Follower();
        f.Beats(Enumerable.Repeat(Ms(300), 10));

        var silence = TimeSpan.Zero;
        while (f.Elector.ServerId == "n0" && silence < TimeSpan.FromSeconds(30))
        {
            silence += TimeSpan.FromSeconds(1); // the server died; this node gets one tick a second
            f.Elector.Tick(f.Now + silence);
        }

        // 500 ms counted per stall: 1.2 s of running time after three of them.
        Assert.Equal(TimeSpan.FromSeconds(3), silence);
        Assert.True(f.Elector.IsServer);
    }

    [Fact]
    public void ANodeStarvedRightAfterStarting_ListensForTheDiscoveryWindowOfRunningTime_BeforeElectingItself()
    {
        var elector = new Elector("n1", 10, 1001, 0, Timing, T0);

        var afterStall = elector.Tick(T0 + TimeSpan.FromSeconds(2)); // discovery has not reported anyone yet
        var later = elector.OnMembers([Server("n0", 1)], T0 + TimeSpan.FromSeconds(2) + Ms(100));

        Assert.Equal(DecisionKind.None, afterStall.Kind);
        Assert.Equal(DecisionKind.Follow, later.Kind);
        Assert.Equal("n0", elector.ServerId);
        Assert.Equal(1, elector.Term);
    }

    [Fact]
    public void AStarvedNode_DoesNotPassOverTheNodeExpectedToClaim_AndTakeOverItself()
    {
        var elector = new Elector("n1", 10, 1001, 0, Timing, T0);
        var now = T0;
        elector.OnMembers([Client("n0", 1000)], now);
        for (var i = 0; i < 11; i++)
        {
            now += TickEvery;
            elector.Tick(now); // the discovery window passes: n0 ranks first and is expected to claim
        }

        now += TimeSpan.FromSeconds(2); // starved: n0's first heartbeat as server is queued, unread
        var afterStall = elector.Tick(now);
        elector.OnHeartbeat("n0", 1, 10, 1000, now + Ms(5));

        Assert.Equal(DecisionKind.None, afterStall.Kind);
        Assert.Equal("n0", elector.ServerId);
        Assert.Equal(1, elector.Term);
    }

    [Fact]
    public void HeartbeatsTheElectorRefuses_NeitherFeedTheDetector_NorKeepTheServerAlive()
    {
        var f = new Follower();
        f.Beats(Enumerable.Repeat(Ms(300), 5));
        var count = f.Elector.ServerTimeout.Count;

        void Forge()
        {
            f.Elector.OnHeartbeat("n0", long.MaxValue, 10, 1000, f.Now); // our server's id with an out-of-range term
            f.Elector.OnHeartbeat("n0", 999, 10, 1000, f.Now); // terms far above ours, flapping: the guard never believes them
            f.Elector.OnHeartbeat("n0", 1999, 10, 1000, f.Now);
            f.Elector.OnHeartbeat("n9", 1, 0, 9000, f.Now); // a worse server: not the one followed
        }

        for (var i = 0; i < 10; i++)
        {
            f.RunFor(Ms(100));
            Forge();
            f.Beats([Ms(200)]); // the real heartbeat, 300 ms after the last
        }

        Assert.Equal(count + 10, f.Elector.ServerTimeout.Count); // only the real gaps, all of 300 ms
        Assert.Equal(Ms(300), f.Elector.ServerTimeout.Longest);
        Assert.Equal(Timing.HeartbeatTimeout, f.Elector.ServerTimeout.Timeout);

        var lastReal = f.Now;
        while (f.Elector.ServerId == "n0")
        {
            Assert.True(f.Now - lastReal < TimeSpan.FromSeconds(5), "forged heartbeats kept a silent server alive");
            f.RunFor(TickEvery);
            Forge();
        }

        Assert.InRange(f.Now - lastReal, Timing.HeartbeatTimeout, Timing.HeartbeatTimeout + TickEvery);
        Assert.True(f.Elector.IsServer);
        Assert.Equal(2, f.Elector.Term);
    }

    [Fact]
    public void TheTimeoutAndClockHandedOut_AreCopies_ThatLaterHeartbeatsDoNotChange()
    {
        var f = new Follower();
        f.Beats([Ms(300)]);
        var timeout = f.Elector.ServerTimeout;
        var clock = f.Elector.Clock;

        f.Beats([Ms(900), Ms(300)]);

        Assert.Equal(1, timeout.Count);
        Assert.Equal(Timing.HeartbeatTimeout, timeout.Timeout);
        Assert.Equal(Ms(300), clock.Elapsed);
        Assert.Equal(3, f.Elector.ServerTimeout.Count);
        Assert.Equal(Ms(1800), f.Elector.ServerTimeout.Timeout);
    }

    [Fact]
    public void ANewServer_StartsFromTheQuietLanTimeout()
    {
        var f = new Follower();
        f.Beats([Ms(1100), Ms(1500), Ms(900)]);
        Assert.True(f.Elector.ServerTimeout.Stretched);

        f.Elector.OnHeartbeat("n5", 2, 10, 1005, f.Now + Ms(10)); // a higher term wins: follow it

        Assert.Equal("n5", f.Elector.ServerId);
        Assert.False(f.Elector.ServerTimeout.Stretched);
        Assert.Equal(0, f.Elector.ServerTimeout.Count);
    }

    [Theory]
    [InlineData("n1")] // next in line: it would have taken over with a new term, and the LAN followed it
    [InlineData("n3")] // it would have suspected n0 on waking, waited for n1's claim, then followed n0 again at its queued heartbeat
    public void OnASimulatedLan_AFollowerStarvedFor2s_CausesNoElection(string starved)
    {
        var lan = new SimulatedLan(5);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        lan.Run(TimeSpan.FromSeconds(2));
        var term = lan.Nodes["n0"].Term;

        lan.StarvedUntil[starved] = lan.Time.GetUtcNow() + TimeSpan.FromSeconds(2);
        lan.Decisions.Clear();
        lan.Run(TimeSpan.FromSeconds(10), () => Assert.True(lan.Nodes["n0"].IsServer, lan.Describe()));

        Assert.True(lan.Converged(), lan.Describe());
        Assert.All(lan.Live, n => Assert.Equal(term, n.Term));
        Assert.Empty(lan.Decisions); // the starved node never left n0, not even for a step
    }

    [Fact]
    public void OnASimulatedLan_EveryNodeStarvedFor3sAtOnce_CausesNoElection()
    {
        var lan = new SimulatedLan(5);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        lan.Run(TimeSpan.FromSeconds(2));
        var term = lan.Nodes["n0"].Term;

        foreach (var id in lan.Nodes.Keys)
        {
            lan.StarvedUntil[id] = lan.Time.GetUtcNow() + TimeSpan.FromSeconds(3); // the host stalls (a VM paused, swapping)
        }

        lan.Run(TimeSpan.FromSeconds(10), () => Assert.True(lan.Nodes["n0"].IsServer, lan.Describe()));

        Assert.True(lan.Converged(), lan.Describe());
        Assert.All(lan.Live, n => Assert.Equal(term, n.Term));
    }

    [Fact]
    public void OnASimulatedLan_AServerDyingWhileTheNextInLineIsStarved_IsStillReplaced()
    {
        var lan = new SimulatedLan(5);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        var term = lan.Nodes["n0"].Term;
        lan.StarvedUntil["n1"] = lan.Time.GetUtcNow() + TimeSpan.FromSeconds(2);

        lan.Dead.Add("n0");
        var took = lan.RunUntilConverged(TimeSpan.FromSeconds(10));
        lan.Run(TimeSpan.FromSeconds(5));

        Assert.True(took <= TimeSpan.FromSeconds(3), $"failover took {took}: {lan.Describe()}"); // the zero-config issue's bound
        Assert.True(lan.Converged(), lan.Describe());
        Assert.All(lan.Live, n => Assert.Equal(term + 1, n.Term)); // one election
    }

    /// <summary>
    /// The benchmark's picture: every node, the server too, stalls now and then (one stall every 3 s on average, of
    /// 0.2-1.5 s, from the start), 20 seeded runs of 70 s, with today's timing and with the fixed 1.2 s timeout that
    /// counted every stall (no running clock, no stretching). Measured: 24 new terms against 225 (23 with a 2.5 s cap).
    /// What is left are stalls longer than any the followers had heard from their server (mostly in the first seconds).
    /// </summary>
    [Fact]
    public void OnASimulatedLan_EveryNodeStallingUpTo1_5sNowAndThen_ElectsAFractionAsOften_AsWithAFixedTimeout()
    {
        var fixedTimeout = SimulatedLan.Timing with { MaxCountedGap = TimeSpan.FromDays(1), MaxHeartbeatTimeout = SimulatedLan.Timing.HeartbeatTimeout };
        var adaptive = Enumerable.Range(1, 20).Sum(seed => NewTermsUnderStalls(seed, SimulatedLan.Timing));
        var before = Enumerable.Range(1, 20).Sum(seed => NewTermsUnderStalls(seed, fixedTimeout));

        output.WriteLine($"20 runs of 70 s: {adaptive} new terms (fixed 1.2 s timeout counting every stall: {before})");
        Assert.True(before >= 100, $"the stalls are too mild to test anything: {before} new terms with the fixed timeout");
        Assert.True(adaptive * 8 <= before, $"{adaptive} new terms against {before} with the fixed timeout");
    }

    private static long NewTermsUnderStalls(int seed, ElectionTiming timing)
    {
        var random = new Random(seed);
        var lan = new SimulatedLan(6, timing: timing);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        var term = lan.Live.Max(n => n.Term);
        lan.Run(TimeSpan.FromSeconds(70), () =>
        {
            var now = lan.Time.GetUtcNow();
            foreach (var id in lan.Nodes.Keys)
            {
                var running = !lan.StarvedUntil.TryGetValue(id, out var until) || until <= now;
                if (running && random.NextDouble() < SimulatedLan.Step / TimeSpan.FromSeconds(3))
                {
                    lan.StarvedUntil[id] = now + TimeSpan.FromMilliseconds(random.Next(200, 1501));
                }
            }
        });

        return lan.Live.Max(n => n.Term) - term;
    }

    private static Member Server(string id, long term) => new(id, IPAddress.Loopback, 47470, 47471, 10, 1000, IsServer: true, Term: term);

    private static Member Client(string id, long since) => new(id, IPAddress.Loopback, 47470, 47471, 10, since, IsServer: false, Term: 0);

    /// <summary>n1 following n0 (term 1), ticked every 100 ms.</summary>
    private sealed class Follower
    {
        public Follower()
        {
            Elector = new Elector("n1", 10, 1001, 0, Timing, T0);
            Elector.OnMembers([Server("n0", 1)], Now);
            Elector.OnHeartbeat("n0", 1, 10, 1000, Now);
            Assert.Equal("n0", Elector.ServerId);
        }

        public Elector Elector { get; }

        public DateTimeOffset Now { get; set; } = T0;

        /// <summary>Heartbeats from n0 after each gap, the follower ticking every 100 ms meanwhile; fails on a suspicion.</summary>
        public void Beats(IEnumerable<TimeSpan> gaps)
        {
            foreach (var gap in gaps)
            {
                var beatAt = Now + gap;
                while (Now + TickEvery < beatAt)
                {
                    Now += TickEvery;
                    Elector.Tick(Now);
                    Assert.True(Elector.ServerId == "n0", $"n0 suspected {Elector.Clock.Elapsed} in, during a gap of {gap.TotalMilliseconds} ms (timeout {Elector.ServerTimeout.Timeout.TotalMilliseconds} ms)");
                }

                Now = beatAt;
                Elector.OnHeartbeat("n0", 1, 10, 1000, Now);
                Elector.Tick(Now);
            }
        }

        public void RunFor(TimeSpan duration)
        {
            var end = Now + duration;
            while (Now < end)
            {
                Now += TickEvery;
                Elector.Tick(Now);
            }
        }

        /// <summary>Ticks with no heartbeat until n0 is no longer followed; returns the silence then (since n0's last heartbeat).</summary>
        public TimeSpan SilenceUntilSuspected(TimeSpan limit)
        {
            var lastBeat = Now;
            while (Elector.ServerId == "n0")
            {
                Assert.True(Now - lastBeat < limit, $"n0 still followed after {limit} of silence");
                Now += TickEvery;
                Elector.Tick(Now);
            }

            return Now - lastBeat;
        }
    }
}
