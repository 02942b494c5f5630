using FsCheck;
using FsCheck.Xunit;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Http;

namespace PeerPatch.Node.Tests.Http;

/// <summary>
/// <see cref="UploadStallGuard"/> under fake time: it aborts the connection only when one write has been pending for
/// the whole bound, and never after the request ended.
/// </summary>
public sealed class UploadStallGuardTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Random writes, each pending for 0 to 40 s with 0 to 40 s between them (throttle waits, the source's pace): the
    /// connection is aborted exactly when some write stays pending for the bound, at that moment.
    /// </summary>
    [Property(MaxTest = 200)]
    public void AbortsExactlyWhenAWriteStaysPendingForTheBound(PositiveInt[] pendings, PositiveInt[] gaps)
    {
        var time = new FakeTimeProvider();
        var (ctx, aborts) = Context();
        using var guard = new UploadStallGuard(ctx, Bound, time, NullLogger.Instance);
        var expected = false;
        for (var i = 0; i < pendings.Length && !expected; i++)
        {
            time.Advance(TimeSpan.FromSeconds(gaps.Length == 0 ? 0 : gaps[i % gaps.Length].Get % 41));
            Assert.Empty(aborts);
            var pending = TimeSpan.FromSeconds(pendings[i].Get % 41);
            guard.Arm();
            time.Advance(pending);
            expected = pending >= Bound;
            Assert.Equal(expected ? 1 : 0, aborts.Count);
            guard.Disarm();
        }

        time.Advance(TimeSpan.FromHours(1)); // disarmed: nothing more
        Assert.Equal(expected ? 1 : 0, aborts.Count);
    }

    [Fact]
    public void AWritePendingOneTickLessThanTheBound_IsNotCut_AndOnePendingForTheBound_Is()
    {
        var time = new FakeTimeProvider();
        var (ctx, aborts) = Context();
        using var guard = new UploadStallGuard(ctx, Bound, time, NullLogger.Instance);
        guard.Arm();
        time.Advance(Bound - TimeSpan.FromTicks(1));
        guard.Disarm();
        time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(aborts);

        guard.Arm(); // each write gets the whole bound again
        time.Advance(Bound - TimeSpan.FromTicks(1));
        Assert.Empty(aborts);
        time.Advance(TimeSpan.FromTicks(1));
        Assert.Single(aborts);
    }

    [Fact]
    public void DisposedWhileArmed_NeverAborts()
    {
        var time = new FakeTimeProvider();
        var (ctx, aborts) = Context();
        var guard = new UploadStallGuard(ctx, Bound, time, NullLogger.Instance);
        guard.Arm();
        time.Advance(Bound - TimeSpan.FromSeconds(1));
        guard.Dispose(); // the request ended (its context may serve another request now)
        time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(aborts);
    }

    private static (HttpContext Context, List<DateTimeOffset> Aborts) Context()
    {
        var aborts = new List<DateTimeOffset>();
        var ctx = new DefaultHttpContext();
        ctx.Features.Set<IHttpRequestLifetimeFeature>(new Lifetime(aborts));
        return (ctx, aborts);
    }

    private sealed class Lifetime(List<DateTimeOffset> aborts) : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get; set; }

        public void Abort() => aborts.Add(DateTimeOffset.UtcNow);
    }
}
