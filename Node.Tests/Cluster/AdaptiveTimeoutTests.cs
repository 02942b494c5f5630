using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Cluster;

namespace PeerPatch.Node.Tests.Cluster;

public sealed class AdaptiveTimeoutTests
{
    private static readonly TimeSpan Floor = SimulatedLan.Timing.HeartbeatTimeout;
    private static readonly TimeSpan Cap = SimulatedLan.Timing.MaxHeartbeatTimeout;

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void RegularHeartbeatsEvery300ms_KeepTheQuietLanTimeout()
    {
        var timeout = new AdaptiveTimeout(Floor, Cap);
        for (var i = 0; i < 200; i++)
        {
            timeout.Add(Ms(i % 2 == 0 ? 290 : 310));
            Assert.Equal(Floor, timeout.Timeout);
        }

        Assert.False(timeout.Stretched);
    }

    [Fact]
    public void GapsOf300To1500ms_StretchItToTwiceTheLongestGap_UpToTheCap()
    {
        var random = new Random(7);
        var timeout = new AdaptiveTimeout(Floor, Cap);
        for (var i = 0; i < 200; i++)
        {
            timeout.Add(Ms(300 + random.Next(1201)));
        }

        Assert.True(timeout.Stretched);
        Assert.InRange(timeout.Longest, Ms(1400), Ms(1500));
        Assert.Equal(AdaptiveTimeout.LongestGapFactor * timeout.Longest > Cap ? Cap : AdaptiveTimeout.LongestGapFactor * timeout.Longest, timeout.Timeout); // above mean + 4 sd (about 2.3 s)
    }

    [Fact]
    public void GapsOfHalfTheCapOrMore_ReachTheCap_AndNoFurther()
    {
        var timeout = new AdaptiveTimeout(Floor, Cap);
        timeout.Add(Cap / 2 - Ms(100));
        Assert.Equal(Cap - Ms(200), timeout.Timeout);

        timeout.Add(Cap / 2);
        Assert.Equal(Cap, timeout.Timeout);

        timeout.Add(TimeSpan.FromHours(3));
        Assert.Equal(Cap, timeout.Timeout);
        Assert.Equal(Cap, timeout.Longest);
    }

    [Fact]
    public void ALongGap_IsForgottenOnceAWindowOfRegularGapsFollowed()
    {
        var timeout = new AdaptiveTimeout(Floor, Cap);
        timeout.Add(Ms(1800));
        for (var i = 0; i < AdaptiveTimeout.Window - 1; i++)
        {
            timeout.Add(Ms(300));
            Assert.True(timeout.Stretched, $"after {i + 1} regular gaps");
        }

        timeout.Add(Ms(300));
        Assert.Equal(Floor, timeout.Timeout);
    }

    [Fact]
    public void Reset_ForgetsEveryGap()
    {
        var timeout = new AdaptiveTimeout(Floor, Cap);
        timeout.Add(Ms(1500));
        timeout.Add(Ms(400));

        timeout.Reset();

        Assert.Equal(Floor, timeout.Timeout);
        Assert.Equal(0, timeout.Count);
        timeout.Add(Ms(300));
        Assert.Equal(Floor, timeout.Timeout); // the 1.5 s gap is gone
    }

    [Fact]
    public void AnyGaps_KeepTheTimeoutWithinFloorAndCap()
    {
        var gaps = Gen.OneOf(
            ArbMap.Default.ArbFor<long>().Generator.Select(TimeSpan.FromTicks),
            Gen.Choose(0, 5000).Select(ms => Ms(ms)),
            Gen.Elements(TimeSpan.Zero, TimeSpan.MaxValue, TimeSpan.MinValue, Ms(-1), Ms(300)));
        var bounds = from floor in Gen.Choose(1, 5000) from extra in Gen.Choose(0, 10_000) select (Floor: Ms(floor), Cap: Ms(floor + extra));
        Prop.ForAll(bounds.ToArbitrary(), Gen.ListOf(gaps).ToArbitrary(), (b, list) =>
        {
            var timeout = new AdaptiveTimeout(b.Floor, b.Cap);
            foreach (var gap in list)
            {
                timeout.Add(gap);
                Assert.InRange(timeout.Timeout, b.Floor, b.Cap);
                Assert.Equal(timeout.Timeout > b.Floor, timeout.Stretched);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void ACapBelowTheFloor_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveTimeout(Ms(1200), Ms(1000)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveTimeout(TimeSpan.Zero, Ms(1000)));
    }
}
