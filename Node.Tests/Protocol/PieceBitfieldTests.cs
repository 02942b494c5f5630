using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Protocol.Http;

namespace PeerPatch.Node.Tests.Protocol;

/// <summary>
/// <see cref="PieceBitfield"/>, the pieces a holder still receiving says it has: whatever it formats reads back the
/// same, and a peer's header that is not exactly a bitfield of the blob's piece count is refused, never guessed at.
/// </summary>
public sealed class PieceBitfieldTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(1000);

    [Fact]
    public void AFormattedBitfield_ReadsBackTheSamePieces() =>
        Prop.ForAll(ArbMap.Default.ArbFor<bool[]>(), held =>
        {
            var text = PieceBitfield.Format(held.Length, i => held[i]);

            Assert.NotNull(text);
            Assert.Equal((held.Length + 7) / 8 * 2, text.Length);
            Assert.True(PieceBitfield.TryParse(text, held.Length, out var read));
            Assert.Equal(held, read);
        }).Check(Many);

    [Fact]
    public void AnyOtherText_IsRefused() =>
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), Gen.Choose(0, 100).ToArbitrary(), (text, count) =>
        {
            var ok = PieceBitfield.TryParse(text, count, out var read);

            // Accepted only when it is what Format writes for what it read (so nothing else slips through).
            Assert.Equal(ok, read is not null);
            if (ok)
            {
                Assert.Equal(text, PieceBitfield.Format(count, i => read![i]));
            }
        }).Check(Many);

    [Theory]
    [InlineData("", 1)] // too short
    [InlineData("80", 0)] // too long
    [InlineData("8000", 8)] // too long
    [InlineData("C0", 2)] // uppercase hex
    [InlineData("c1", 2)] // a spare bit set (only pieces 0 and 1 exist)
    [InlineData("0g", 8)] // not hex
    [InlineData(" 0", 8)] // not hex
    public void MalformedHeaders_AreRefused(string text, int count) =>
        Assert.False(PieceBitfield.TryParse(text, count, out _));

    [Fact]
    public void PieceIsTheBitFromTheTop_OfItsByte()
    {
        Assert.Equal("a0", PieceBitfield.Format(3, i => i != 1)); // 1010 0000
        Assert.True(PieceBitfield.TryParse("0180", 9, out var held));
        Assert.Equal([false, false, false, false, false, false, false, true, true], held);
    }

    [Fact]
    public void MoreThanMaxPieces_IsNeitherSentNorRead()
    {
        Assert.Null(PieceBitfield.Format(PieceBitfield.MaxPieces + 1, _ => true));
        Assert.False(PieceBitfield.TryParse(new string('0', ((PieceBitfield.MaxPieces + 8) / 8) * 2), PieceBitfield.MaxPieces + 1, out _));
        Assert.NotNull(PieceBitfield.Format(PieceBitfield.MaxPieces, _ => true));
    }
}
