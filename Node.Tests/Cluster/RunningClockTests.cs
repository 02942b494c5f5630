using PeerPatch.Node.Cluster;

namespace PeerPatch.Node.Tests.Cluster;

public sealed class RunningClockTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void GapsUpToTheMaximum_CountInFull_LongerOnesOnlyUpToIt()
    {
        var clock = new RunningClock(Ms(500), T0);

        Assert.Equal(Ms(100), clock.Observe(T0 + Ms(100)));
        Assert.Equal(Ms(600), clock.Observe(T0 + Ms(600)));
        Assert.Equal(0, clock.LateGaps);

        Assert.Equal(Ms(1100), clock.Observe(T0 + Ms(2600))); // starved 2 s: counts 500 ms
        Assert.Equal(1, clock.LateGaps);
        Assert.Equal(Ms(2000), clock.LastLateGap);
        Assert.Equal(Ms(1200), clock.Observe(T0 + Ms(2700)));
    }

    [Fact]
    public void AnOlderOrEqualNow_AddsNothing()
    {
        var clock = new RunningClock(Ms(500), T0);
        clock.Observe(T0 + Ms(300));

        Assert.Equal(Ms(300), clock.Observe(T0 + Ms(250))); // another thread's now, taken before ours
        Assert.Equal(Ms(300), clock.Observe(T0 + Ms(300)));
        Assert.Equal(Ms(350), clock.Observe(T0 + Ms(350)));
    }
}
