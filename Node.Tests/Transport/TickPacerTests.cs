using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Transport;

namespace PeerPatch.Node.Tests.Transport;

/// <summary>
/// The pace of LiteNetLib's logic thread without sockets (<see cref="TickPacer"/>): quiet only after
/// <see cref="TickPacer.QuietAfter"/> without a connected frame, and the first frame after a quiet spell always ends it,
/// even when it races the switch to quiet.
/// </summary>
public sealed class TickPacerTests
{
    private static readonly TimeSpan After = TimeSpan.FromSeconds(2);

    [Fact]
    public void AFreshPacer_IsActive_AndGoesQuietOnlyQuietAfterTheLastFrame()
    {
        var pacer = new TickPacer(After);
        Assert.False(pacer.Quiet);
        Assert.False(pacer.Touch(TimeSpan.FromSeconds(10))); // was not quiet: nothing to switch back

        Assert.False(pacer.TryQuiet(TimeSpan.FromSeconds(11.999)));
        Assert.False(pacer.Quiet);
        Assert.True(pacer.TryQuiet(TimeSpan.FromSeconds(12)));
        Assert.True(pacer.Quiet);
        Assert.False(pacer.TryQuiet(TimeSpan.FromSeconds(13))); // already quiet: no second switch

        Assert.True(pacer.Touch(TimeSpan.FromSeconds(20))); // the first frame after the spell switches back, once
        Assert.False(pacer.Quiet);
        Assert.False(pacer.Touch(TimeSpan.FromSeconds(20.1)));
        Assert.False(pacer.TryQuiet(TimeSpan.FromSeconds(22)));
        Assert.True(pacer.TryQuiet(TimeSpan.FromSeconds(22.1)));
    }

    /// <summary>
    /// Any sequence of frames and housekeeping calls, at non-decreasing times, against a model: quiet exactly when the
    /// last frame is at least QuietAfter old at a housekeeping call and no frame came since; each call reports a switch
    /// exactly when the mode changes.
    /// </summary>
    [Fact]
    public void AnySequenceOfFramesAndHousekeeping_FollowsTheModel() =>
        Prop.ForAll(ArbMap.Default.ArbFor<(bool Frame, byte Step)[]>(), ArbMap.Default.ArbFor<byte>(), (steps, quietAfter) =>
        {
            var after = TimeSpan.FromMilliseconds(1 + quietAfter * 10);
            var pacer = new TickPacer(after);
            var now = TimeSpan.FromSeconds(1);
            TimeSpan? lastFrame = null;
            var quiet = false;
            foreach (var (frame, step) in steps ?? [])
            {
                now += TimeSpan.FromMilliseconds(step * 20);
                if (frame)
                {
                    var switched = pacer.Touch(now);
                    Assert.Equal(quiet, switched);
                    lastFrame = now;
                    quiet = false;
                }
                else
                {
                    var shouldQuiet = !quiet && (lastFrame is not { } last || now - last >= after);
                    Assert.Equal(shouldQuiet, pacer.TryQuiet(now));
                    quiet |= shouldQuiet;
                }

                Assert.Equal(quiet, pacer.Quiet);
            }
        }).QuickCheckThrowOnFailure();

    /// <summary>
    /// The race the fences are for: a frame at the same instant as the housekeeping call that would go quiet, run at
    /// each point of that call (before its check, between its check and its switch, between its switch and its
    /// re-check, after it). Whichever point, the pacer ends active, and the mode a transport writes after each reported
    /// switch (read under its lock, as <c>LanTransport.ApplyPace</c> does) is the pacer's final mode: no frame is left
    /// waiting for a slow tick.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void AFrameAtAnyPointOfTheSwitchToQuiet_LeavesThePacerActive_AndTheAppliedModeRight(int point)
    {
        var now = TimeSpan.FromSeconds(100);
        TickPacer? pacer = null;
        var applied = false; // false: active ticks
        void Apply() => applied = pacer!.Quiet;
        void Frame()
        {
            if (pacer!.Touch(now))
            {
                Apply();
            }
        }

        void FrameAt(int step)
        {
            if (step == point)
            {
                Frame();
            }
        }

        pacer = new TickPacer(After) { Interleave = FrameAt };
        pacer.Touch(now - After - After); // old activity: housekeeping would go quiet
        if (point == 0)
        {
            Frame();
        }

        if (pacer.TryQuiet(now))
        {
            Apply();
        }

        if (point == 3)
        {
            Frame();
        }

        Assert.False(pacer.Quiet);
        Assert.False(applied);
    }
}
