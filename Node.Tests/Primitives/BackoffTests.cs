using PeerPatch.Node.Transfer;
using PeerPatch.Node.Primitives;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Tests.Primitives;

public sealed class BackoffTests
{
    private static readonly Gen<Backoff> Backoffs =
        from firstMs in Gen.Choose(0, 120_000)
        from capMs in Gen.Choose(0, 600_000)
        from factorTenths in Gen.Choose(10, 40)
        from jitterPercent in Gen.Choose(0, 100)
        select new Backoff(TimeSpan.FromMilliseconds(firstMs), TimeSpan.FromMilliseconds(capMs), factorTenths / 10.0, jitterPercent / 100.0);

    private static readonly Gen<double> Units = Gen.OneOf(Gen.Choose(0, 1_000_000).Select(n => n / 1_000_001.0), Gen.Elements(0.0, 0.999999999, 1.0, -5.0, 7.0, double.NaN));

    [Fact]
    public void Delay_IsNeverNegative_NeverAboveTheCap_AndInsideTheJitterRange()
    {
        var cases =
            from backoff in Backoffs
            from failures in Gen.OneOf(Gen.Choose(-3, 40), Gen.Elements(int.MaxValue, int.MinValue))
            from unit in Units
            select (backoff, failures, unit);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var delay = c.backoff.Delay(c.failures, c.unit);
            var growth = Math.Pow(c.backoff.Factor, Math.Max(1, c.failures) - 1); // may be infinite
            var low = c.backoff.First == TimeSpan.Zero || c.backoff.Jitter == 1 ? 0 : Math.Min(c.backoff.Cap.Ticks, c.backoff.First.Ticks * (1 - c.backoff.Jitter) * growth);
            var high = c.backoff.First == TimeSpan.Zero ? 0 : Math.Min(c.backoff.Cap.Ticks, c.backoff.First.Ticks * (1 + c.backoff.Jitter) * growth);

            Assert.True(delay >= TimeSpan.Zero, $"{c}: {delay}");
            Assert.True(delay <= c.backoff.Cap, $"{c}: {delay} above the cap");
            Assert.True(delay.Ticks >= Math.Floor(low) - 1 && delay.Ticks <= Math.Ceiling(high), $"{c}: {delay} outside [{low}, {high}] ticks");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [Fact]
    public void Delay_NeverShrinks_AsFailuresGrow()
    {
        var cases =
            from backoff in Backoffs
            from failures in Gen.Choose(1, 60)
            from unit in Units
            select (backoff, failures, unit);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            Assert.True(c.backoff.Delay(c.failures + 1, c.unit) >= c.backoff.Delay(c.failures, c.unit), c.ToString());
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Fact]
    public void Fixed_GivesTheSameDelayEveryTime_SpreadOnlyByItsJitter()
    {
        var backoff = Backoff.Fixed(TimeSpan.FromMilliseconds(250), jitter: 0.2);

        Assert.Equal(TimeSpan.FromMilliseconds(200), backoff.Delay(1, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(250), backoff.Delay(7, 0.5));
        Assert.InRange(backoff.Delay(1_000, 0.9999999).Ticks, TimeSpan.FromMilliseconds(299.9999).Ticks - 2, TimeSpan.FromMilliseconds(300).Ticks);
    }

    [Theory]
    [InlineData(-0.001, 2.0)]
    [InlineData(1.01, 2.0)]
    [InlineData(double.NaN, 2.0)]
    [InlineData(0.5, 0.99)]
    [InlineData(0.5, double.NaN)]
    [InlineData(0.5, double.PositiveInfinity)]
    public void NonsenseShapes_AreRefused(double jitter, double factor)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), factor, jitter));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void InternetRetries_WaitOneThenTwoThenFourSeconds_EachWithinAQuarter()
    {
        var b = InternetDownloader.RetryBackoff;

        Assert.Equal(TimeSpan.FromSeconds(0.75), b.Delay(1, 0));
        Assert.Equal(TimeSpan.FromSeconds(1), b.Delay(1, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(2), b.Delay(2, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(5), b.Delay(3, 1));
        Assert.Equal(InternetDownloader.MaxRetryDelay, b.Delay(19, 0)); // InternetAttempts 20: a minute, not six days
    }

    [Fact]
    public void RetryPolicy_StopsWhenTheAttemptsAreUsedUp_AndJittersWithTheInjectedRandom()
    {
        var random = new FixedRandom(0);
        var policy = new RetryPolicy(new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), 2, 0.5), 4, random, TimeProvider.System);

        Assert.True(policy.TryNext(1, out var first));
        random.Unit = 0.999;
        Assert.True(policy.TryNext(2, out var second));
        Assert.True(policy.TryNext(3, out var third));
        Assert.False(policy.TryNext(4, out _));
        Assert.Equal(TimeSpan.FromSeconds(0.5), first);
        Assert.InRange(second.Ticks, TimeSpan.FromSeconds(2.998).Ticks - 1, TimeSpan.FromSeconds(2.998).Ticks + 1);
        Assert.Equal(TimeSpan.FromSeconds(3), third); // 4 s × 1.5 capped
    }

    [Fact]
    public async Task RetryPolicy_WaitsOnTheInjectedClock()
    {
        var time = new FakeTimeProvider();
        var policy = new RetryPolicy(Backoff.Fixed(TimeSpan.FromSeconds(5)), 2, new FixedRandom(), time);

        var waiting = policy.WaitAsync(policy.Delay(1), CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(0.1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void RetryWindow_ClosesForAGrowingWhileAfterEachFailure_CappedAndReopenedBySuccess()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero));
        var window = new RetryWindow(new RetryPolicy(new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)), RetryPolicy.Unlimited, new FixedRandom(), time), time);
        Assert.False(window.IsClosed(out _));

        var delays = new List<TimeSpan>();
        for (var i = 0; i < 7; i++)
        {
            delays.Add(window.Failed());
            Assert.True(window.IsClosed(out var remaining));
            Assert.Equal(delays[^1], remaining);
            time.Advance(delays[^1] - TimeSpan.FromMilliseconds(1));
            Assert.True(window.IsClosed(out _));
            time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.False(window.IsClosed(out _));
        }

        Assert.Equal([1, 2, 4, 8, 16, 30, 30], delays.Select(d => d.TotalSeconds));
        window.Succeeded();
        Assert.Equal(0, window.Failures);
        Assert.Equal(TimeSpan.FromSeconds(1), window.Failed());
    }
}
