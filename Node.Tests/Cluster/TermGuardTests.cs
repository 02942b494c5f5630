using System.Globalization;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Cluster;

namespace PeerPatch.Node.Tests.Cluster;

public sealed class TermGuardTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    private static readonly Gen<long> Terms = Gen.OneOf(
        Gen.Elements(long.MaxValue, long.MaxValue - 1, long.MinValue, -1L, 0L, 1L, 999L, TermGuard.Max, TermGuard.Max + 1, ClusterState.PinnedTerm, 1L << 62),
        ArbMap.Default.ArbFor<long>().Generator,
        Gen.Choose(0, 40).Select(i => (long)i));

    private static Member Server(string id, long term) => new(id, IPAddress.Loopback, 47470, 47471, 10, 1000, IsServer: true, Term: term);

    [Fact]
    public void AnyAdvertsAndHeartbeats_KeepTheTermInRange_AndNeverLowerIt()
    {
        var events = Gen.ListOf(from term in Terms from beat in Gen.Elements(false, true) from id in Gen.Elements("a", "b", "c") select (term, beat, id));
        Prop.ForAll(events.ToArbitrary(), Terms.ToArbitrary(), (list, start) =>
        {
            var elector = new Elector("self", 5, 2000, start, SimulatedLan.Timing, T0);
            var now = T0;
            var last = elector.Term;
            Assert.InRange(last, 0, TermGuard.Max);
            foreach (var (term, beat, id) in list)
            {
                now += TimeSpan.FromMilliseconds(100);
                _ = beat ? elector.OnHeartbeat(id, term, 10, 1000, now) : elector.OnMembers([Server(id, term)], now);
                for (var t = TimeSpan.Zero; t <= SimulatedLan.Timing.MaxHeartbeatTimeout; t += SimulatedLan.Timing.TickPeriod)
                {
                    now += SimulatedLan.Timing.TickPeriod;
                    elector.Tick(now); // heartbeats overdue, however irregular they were: elect, with term + 1
                }

                Assert.InRange(elector.Term, last, TermGuard.Max);
                last = elector.Term;
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue - 1)]
    [InlineData(TermGuard.Max + 1)]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    public void AServerWithAnInvalidTerm_IsNeverFollowed_HoweverLongItClaims(long term)
    {
        var elector = new Elector("self", 5, 2000, 3, SimulatedLan.Timing, T0);
        for (var t = TimeSpan.Zero; t < TimeSpan.FromSeconds(30); t += TimeSpan.FromMilliseconds(100))
        {
            elector.OnMembers([Server("rogue", term)], T0 + t);
            elector.OnHeartbeat("rogue", term, 10, 1000, T0 + t);
            elector.Tick(T0 + t);
            Assert.NotEqual("rogue", elector.ServerId);
        }

        Assert.True(elector.IsServer);
        Assert.Equal(4, elector.Term); // its own election: 3 + 1, the rogue's term not counted
    }

    [Fact]
    public void ATermFarAboveOurs_CountsOnlyOnceItsNodeHeldItForASecond_AndAFlappingOneNever()
    {
        var joining = new Elector("self", 5, 2000, 0, SimulatedLan.Timing, T0);
        var flapped = new Elector("self", 5, 2000, 0, SimulatedLan.Timing, T0);
        var heldAt = (DateTimeOffset?)null;
        for (var t = TimeSpan.Zero; t < TimeSpan.FromSeconds(5); t += TimeSpan.FromMilliseconds(50))
        {
            joining.OnMembers([Server("old", 500)], T0 + t); // an older LAN, far above a new node's term 0
            joining.OnHeartbeat("old", 500, 10, 1000, T0 + t);
            if (joining.ServerId == "old")
            {
                heldAt ??= T0 + t;
            }

            var flapping = t.TotalMilliseconds % 100 == 0 ? 999 : 1999;
            flapped.OnMembers([Server("rogue", flapping)], T0 + t);
            flapped.OnHeartbeat("rogue", flapping, 10, 1000, T0 + t);
            Assert.NotEqual("rogue", flapped.ServerId);
        }

        Assert.Equal(500, joining.Term);
        Assert.InRange(heldAt!.Value - T0, TermGuard.HoldFor, TermGuard.HoldFor + TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void ATermWithinTheStep_CountsAtOnce_AndAPinnedServerAlways()
    {
        var elector = new Elector("self", 5, 2000, 10, SimulatedLan.Timing, T0);
        elector.OnMembers([Server("near", 10 + TermGuard.MaxStep)], T0);
        Assert.Equal("near", elector.ServerId);

        elector.OnHeartbeat("pinned", ClusterState.PinnedTerm, 0, 99999, T0);
        Assert.Equal("pinned", elector.ServerId);
    }

    [Fact]
    public void NextTerm_SaturatesAtTheMaximum()
    {
        Assert.Equal(TermGuard.Max, TermGuard.Next(TermGuard.Max));
        Assert.Equal(TermGuard.Max, TermGuard.Next(long.MaxValue));
        Assert.Equal(1, TermGuard.Next(-5));
        Assert.Equal(8, TermGuard.Next(7));
    }

    [Theory]
    [InlineData("41", true, 41)]
    [InlineData("0", true, 0)]
    [InlineData("281474976710656", true, TermGuard.Max)]
    [InlineData("281474976710657", false, 0)]
    [InlineData("-9223372036854775808", false, 0)]
    [InlineData("9223372036854775807", false, 0)]
    [InlineData("-1", false, 0)]
    [InlineData(" 7", false, 0)]
    [InlineData("7\n", false, 0)]
    [InlineData("abc", false, 0)]
    [InlineData("", false, 0)]
    [InlineData(null, false, 0)]
    public void AStoredTerm_IsUsedOnlyWhenValid(string? stored, bool valid, long term)
    {
        Assert.Equal(valid, TermGuard.TryParseStored(stored, out var loaded));
        Assert.Equal(term, loaded);
    }

    [Fact]
    public void AnyStoredText_LoadsAsATermInRange()
    {
        Prop.ForAll(Gen.OneOf(ArbMap.Default.ArbFor<string>().Generator, Terms.Select(t => t.ToString(CultureInfo.InvariantCulture))).ToArbitrary(), text =>
        {
            var valid = TermGuard.TryParseStored(text, out var term);
            Assert.InRange(term, 0, TermGuard.Max);
            Assert.Equal(valid, long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed <= TermGuard.Max);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void AnElectorStartedWithACorruptTerm_StartsFromZero()
    {
        Assert.Equal(0, new Elector("self", 5, 2000, long.MinValue, SimulatedLan.Timing, T0).Term);
        Assert.Equal(0, new Elector("self", 5, 2000, long.MaxValue, SimulatedLan.Timing, T0).Term);
    }
}
