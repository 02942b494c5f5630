using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Storage;

/// <summary>The free-space reserve (issue 19): a fraction of a small disk, never all of it.</summary>
public sealed class ReserveRuleTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(2000);

    [Theory]
    [InlineData(64L << 20, 6_710_886L)] // a 64 MiB data disk: 6.4 MiB, not 64 MiB (which refused even 1 MB)
    [InlineData(100L << 20, 10_485_760L)]
    [InlineData(640L << 20, 64L << 20)] // from 640 MiB on, the configured 64 MiB
    [InlineData(1L << 40, 64L << 20)]
    [InlineData(0L, 64L << 20)] // size unknown: the configured reserve
    public void TheDefaultReserve_IsTheSmallerOf64MiBAnd10PercentOfTheDisk(long disk, long expected) =>
        Assert.Equal(expected, new BlobStoreOptions().ReserveFor(disk));

    [Fact]
    public void TheReserve_NeverExceedsTheConfiguredBytesOrItsShareOfTheDisk_AndNeverLeavesNothingForData() =>
        Prop.ForAll(
            Gen.Choose(1, int.MaxValue).Select(i => (long)i * 4096).ToArbitrary(),
            Gen.Choose(0, 1 << 30).Select(i => (long)i * 256).ToArbitrary(),
            Gen.Choose(0, 100).ToArbitrary(),
            (disk, configured, percent) =>
            {
                var options = new BlobStoreOptions { ReserveFreeBytes = configured, ReserveMaxPercent = percent };
                var reserve = options.ReserveFor(disk);
                Assert.InRange(reserve, 0, configured);
                Assert.True(reserve <= disk * (percent / 100.0), $"{reserve} > {percent} % of {disk}");
                Assert.True(percent == 100 || reserve < disk, "the reserve took the whole disk");
            }).Check(Many);
}
