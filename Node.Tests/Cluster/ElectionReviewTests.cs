using System.Net;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>
/// Review of issue 16: failover after irregular heartbeats, the log they cause, and replayed heartbeat copies on a keyed
/// LAN (from branch review).
/// </summary>
public sealed class ElectionReviewTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
    private static readonly ElectionTiming Timing = SimulatedLan.Timing;

    /// <summary>
    /// The server's heartbeats were irregular (it stalled 0.75, 1.1 and 1.4 s), so every follower waits the cap
    /// (<see cref="ElectionTiming.MaxHeartbeatTimeout"/>); then the server dies. With [0], n1 claims as soon as it times
    /// out; with [1500], n1, next in line, is busy for 1.5 s at that moment (the stall model of ElectorPatienceTests),
    /// so the others time out at the cap, wait ClaimTimeout (0.8 s) for n1 and only then elect n2: with the 2.5 s cap
    /// that took 3.05-3.3 s, over the zero-config issue's 3 s.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1500)]
    public void AfterIrregularHeartbeats_ADeadServerIsReplacedWithin3s_EvenIfTheNextInLineIsBusyForAMoment(int nextInLineBusyMs)
    {
        var lan = new SimulatedLan(5);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        lan.Run(TimeSpan.FromSeconds(2));
        Assert.True(lan.Nodes["n0"].IsServer, lan.Describe());
        var term = lan.Nodes["n0"].Term;

        foreach (var stallMs in new[] { 750, 1100, 1400 })
        {
            lan.StarvedUntil["n0"] = lan.Time.GetUtcNow() + TimeSpan.FromMilliseconds(stallMs);
            lan.Run(TimeSpan.FromSeconds(3));
        }

        Assert.True(lan.Converged(), lan.Describe());
        Assert.All(lan.Live, n => Assert.Equal(term, n.Term)); // no election while the server was merely slow
        foreach (var id in new[] { "n1", "n2", "n3", "n4" })
        {
            Assert.Equal(Timing.MaxHeartbeatTimeout, lan.Nodes[id].ServerTimeout.Timeout);
        }

        lan.Dead.Add("n0");
        if (nextInLineBusyMs > 0)
        {
            lan.StarvedUntil["n1"] = lan.Time.GetUtcNow() + TimeSpan.FromMilliseconds(nextInLineBusyMs);
        }

        var took = lan.RunUntilConverged(TimeSpan.FromSeconds(10));

        output.WriteLine($"next in line busy {nextInLineBusyMs} ms: replaced {took.TotalSeconds:0.00} s after the kill: {lan.Describe()}");
        Assert.All(lan.Live, n => Assert.Equal(term + 1, n.Term));
        Assert.True(took <= TimeSpan.FromSeconds(3), $"failover took {took.TotalSeconds:0.00} s: {lan.Describe()}");
    }

    /// <summary>
    /// A quiet LAN that loses one heartbeat datagram every 30 s (0.3 % loss; the next one 20 ms late): each loss is a gap
    /// of 620 ms, twice that is above the 1.2 s floor, so the timeout stretches to 1.24 s; the gap leaves the window of
    /// 64 after about 19 s, so the next loss is a new episode. Event 708 (Information) was logged for each: about 20 lines
    /// in 10 minutes on every follower (a 50-node LAN: about 1,000 lines).
    /// </summary>
    [Fact]
    public void OneLostHeartbeatEvery30s_IsNotReportedAsAnIrregularServerEveryTime()
    {
        var log = new ListLogger<Elector>();
        var report = new ElectorReport(log);
        var elector = new Elector("n1", 10, 1001, 0, Timing, T0);
        var now = T0;
        elector.OnMembers([new Member("n0", IPAddress.Loopback, 47470, 47471, 10, 1000, IsServer: true, Term: 1)], now);
        elector.OnHeartbeat("n0", 1, 10, 1000, now);
        report.Report(elector);
        for (var beat = 1; beat <= 2000; beat++)
        {
            var gap = beat % 100 == 0 ? TimeSpan.FromMilliseconds(620) : TimeSpan.FromMilliseconds(300);
            var beatAt = now + gap;
            while (now + Timing.TickPeriod < beatAt)
            {
                now += Timing.TickPeriod;
                elector.Tick(now);
                report.Report(elector);
            }

            now = beatAt;
            elector.OnHeartbeat("n0", 1, 10, 1000, now);
            report.Report(elector);
            Assert.Equal("n0", elector.ServerId);
        }

        output.WriteLine($"{log.Count(708)} lines of event 708 in {(now - T0).TotalMinutes:0.0} minutes");
        Assert.True(log.Count(708) <= 1, log.ToString());
    }

    /// <summary>
    /// Keyed LAN (review of issue 16): a server heartbeating 50 members with one sequence counter leaves, each round,
    /// 49 copies with numbers n1 never saw. An eavesdropper without the key who captured the last two rounds replays all
    /// of them to n1 after the server died, each just before n1's timeout runs out. Before heartbeats were sealed for
    /// their recipient, about 98 replays were accepted and the dead server stayed followed for 187 s (the reviewer's
    /// version, on <see cref="SenderWindows"/> alone); now each copy meant for another member is refused
    /// (<see cref="OneWayDatagrams"/>), and so is every copy of n1's own, already taken.
    /// </summary>
    [Fact]
    public void OnAKeyedLan_ReplayedCopiesOfADeadServersHeartbeats_DoNotKeepItFollowedForLong()
    {
        const int members = 50;
        const int self = 7; // n1's place in the server's heartbeat round
        const int rounds = 40;
        var key = ClusterKey.Generate();
        var ids = Enumerable.Range(0, members).Select(m => m == self ? "n1" : $"m{m}").ToArray();
        var beat = new Heartbeat("n0", 1, 10, 1000, 47471);
        var server = new OneWayDatagrams(key, "n0"); // n0's transport
        var n1 = new OneWayDatagrams(key, "n1"); // n1's transport
        var elector = new Elector("n1", 10, 1001, 0, Timing, T0);
        var now = T0;
        elector.OnMembers([new Member("n0", IPAddress.Loopback, 47470, 47471, 10, 1000, IsServer: true, Term: 1)], now);
        var lastReal = now;
        var captured = new List<byte[]>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var id in ids)
            {
                var datagram = server.Encode(beat, id);
                if (round >= rounds - 2)
                {
                    captured.Add(datagram); // the eavesdropper records every copy, n1's included
                }

                if (id == "n1")
                {
                    Assert.IsType<Heartbeat>(n1.Check(datagram).Message);
                }
            }

            elector.OnHeartbeat("n0", 1, 10, 1000, now);
            lastReal = now;
            for (var t = 0; t < 3; t++)
            {
                now += Timing.TickPeriod;
                elector.Tick(now);
            }
        }

        Assert.Equal("n0", elector.ServerId);
        Assert.Equal(Timing.HeartbeatTimeout, elector.ServerTimeout.Timeout); // a quiet LAN until the server died

        var lastAccepted = lastReal;
        var replays = 0;
        var refused = new Dictionary<string, int>();
        foreach (var datagram in captured)
        {
            while (now + Timing.TickPeriod - lastAccepted < elector.ServerTimeout.Timeout)
            {
                now += Timing.TickPeriod;
                elector.Tick(now);
            }

            if (elector.ServerId != "n0")
            {
                break;
            }

            var verdict = n1.Check(datagram);
            if (verdict.Message is Heartbeat replayed)
            {
                elector.OnHeartbeat(replayed.ServerId, replayed.Term, replayed.Priority, replayed.Since, now);
                lastAccepted = now;
                replays++;
            }
            else
            {
                refused[verdict.Refusal!] = refused.GetValueOrDefault(verdict.Refusal!) + 1;
            }
        }

        while (elector.ServerId == "n0")
        {
            now += Timing.TickPeriod;
            elector.Tick(now);
        }

        var followedDead = now - lastReal;
        output.WriteLine($"{replays} replayed heartbeats accepted, refused: {string.Join(", ", refused.Select(r => $"{r.Value} x {r.Key}"))}; the dead server was followed {followedDead.TotalSeconds:0.0} s after its last heartbeat (timeout at the end {elector.ServerTimeout.Timeout.TotalMilliseconds} ms)");
        Assert.True(followedDead <= 2 * Timing.MaxHeartbeatTimeout, $"{replays} replays kept a dead server followed for {followedDead.TotalSeconds:0.0} s");
    }
}
