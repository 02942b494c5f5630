using System.Net;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Tests.Updating.Fakes;

namespace PeerPatch.Node.Tests.Cluster;

public sealed class ElectorReportTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
    private const int Stretched = 708;
    private const int Restored = 709;
    private const int LateTick = 712;

    [Fact]
    public void AStretchEpisode_IsReportedOnce_AndItsEndOnce()
    {
        var (elector, log, run) = Follow();

        run("n0", [300, 1100, 1400, 900, 1300, 1000, 1200]); // irregular: stretched from the second gap on
        Assert.Equal(1, log.Count(Stretched));
        Assert.True(log.Has(Stretched, "heartbeats of server n0 arrive irregularly"), log.ToString());

        run("n0", Enumerable.Repeat(300, AdaptiveTimeout.Window).ToArray()); // the long gaps leave the window
        Assert.False(elector.ServerTimeout.Stretched);
        Assert.Equal(1, log.Count(Restored));

        run("n0", [1000, 300]);
        Assert.Equal(2, log.Count(Stretched)); // a new episode
        Assert.Equal(0, log.Count(LateTick));
    }

    [Fact]
    public void LateTicks_AreReportedOncePerServerFollowed()
    {
        var (elector, log, run) = Follow();
        var now = T0;
        for (var i = 0; i < 5; i++)
        {
            now += TimeSpan.FromSeconds(2);
            elector.OnHeartbeat("n0", 1, 10, 1000, now); // a heartbeat read late each time: nothing to suspect
            now += TimeSpan.FromMilliseconds(100);
            elector.Tick(now);
            run(null, []);
        }

        Assert.Equal(1, log.Count(LateTick));
        Assert.True(log.Has(LateTick, "did not run for 2000 ms"), log.ToString());

        elector.OnHeartbeat("n5", 2, 10, 1005, now + TimeSpan.FromSeconds(2)); // a higher term: another server, after another stall
        run(null, []);
        Assert.Equal("n5", elector.ServerId);
        Assert.Equal(2, log.Count(LateTick));
    }

    [Fact]
    public void OnTheServer_ALateTick_IsNotReported()
    {
        var log = new ListLogger<Elector>();
        var report = new ElectorReport(log);
        var elector = new Elector("n1", 10, 1001, 0, SimulatedLan.Timing, T0);
        var now = T0;
        while (!elector.IsServer && now - T0 < TimeSpan.FromMinutes(1))
        {
            now += TimeSpan.FromMilliseconds(100);
            elector.Tick(now); // alone: it elects itself after the discovery window
            report.Report(elector);
        }

        Assert.True(elector.IsServer, "alone, it did not elect itself within a minute");

        now += TimeSpan.FromSeconds(2); // the server itself did not get the CPU
        elector.Tick(now);
        report.Report(elector);

        Assert.True(elector.IsServer);
        Assert.Equal(1, elector.Clock.LateGaps);
        Assert.Equal(0, log.Count(LateTick)); // "its server's silence is not held against it": no server to speak of
    }

    [Fact]
    public void ATimeoutStretchedByOneLostHeartbeat_IsNotReported_OneAtHalfAgainTheFloorIs()
    {
        var (_, log, run) = Follow();

        run("n0", [300, 620, 300]); // one lost heartbeat: 1.24 s
        Assert.Equal(0, log.Count(Stretched));

        run("n0", [890, 300]); // 1.78 s, still under 1.5 x 1.2 s
        Assert.Equal(0, log.Count(Stretched));

        run("n0", [900, 300]); // 1.8 s
        Assert.Equal(1, log.Count(Stretched));
    }

    /// <summary>n1 following n0; run(server, gaps in ms) sends its heartbeats after those gaps, ticking every 100 ms, reporting after each call.</summary>
    private static (Elector Elector, ListLogger<Elector> Log, Action<string?, int[]> Run) Follow()
    {
        var log = new ListLogger<Elector>();
        var report = new ElectorReport(log);
        var elector = new Elector("n1", 10, 1001, 0, SimulatedLan.Timing, T0);
        var now = T0;
        elector.OnMembers([new Member("n0", IPAddress.Loopback, 47470, 47471, 10, 1000, IsServer: true, Term: 1)], now);
        elector.OnHeartbeat("n0", 1, 10, 1000, now);
        report.Report(elector);
        void Run(string? server, int[] gaps)
        {
            foreach (var gap in gaps)
            {
                var beatAt = now + TimeSpan.FromMilliseconds(gap);
                while (now + TimeSpan.FromMilliseconds(100) < beatAt)
                {
                    now += TimeSpan.FromMilliseconds(100);
                    elector.Tick(now);
                    report.Report(elector);
                }

                now = beatAt;
                elector.OnHeartbeat(server!, 1, 10, 1000, now);
                report.Report(elector);
            }

            report.Report(elector);
        }

        return (elector, log, Run);
    }
}
