using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Tests.Protocol;

/// <summary>
/// One-way frames sealed for a recipient (<see cref="FrameSealer.SealFor"/>): a copy sent to one node must never
/// open at another, or a recorded copy meant for member B could be replayed to member C.
/// </summary>
public sealed class AddressedSealTests
{
    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private static readonly ClusterKey Key = ClusterKey.Generate();
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(2000);

    /// <summary>A valid node id (1-64 of [A-Za-z0-9_-]) from arbitrary bytes.</summary>
    private static string Id(byte[] seed) =>
        seed.Length == 0 ? "n" : new string([.. seed.Take(64).Select(b => IdAlphabet[b % IdAlphabet.Length])]);

    [Fact]
    public void AFrameSealedForANode_OpensThereWithItsPayloadAndSequence_AndAtEveryOtherNodeAsForAnother() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), ArbMap.Default.ArbFor<ulong>(), ArbMap.Default.ArbFor<(byte[] To, byte[] Other)>(), (payload, sequence, ids) =>
        {
            var recipient = Id(ids.To);
            var elsewhere = Id(ids.Other);
            var frame = Key.Unconnected.SealFor(recipient, sequence, payload);

            Assert.Equal(AddressedOpenResult.Opened, Key.Unconnected.TryOpenFor(frame, recipient, out var opened, out var range));
            Assert.Equal(sequence, opened);
            Assert.Equal(payload, frame[range]);
            Assert.Equal(payload.Length + FrameSealer.AddressedOverhead(recipient), frame.Length);
            if (elsewhere != recipient)
            {
                Assert.Equal(AddressedOpenResult.ForAnotherNode, Key.Unconnected.TryOpenFor(frame, elsewhere, out var none, out _));
                Assert.Equal(0UL, none);
            }
        }).Check(Many);

    [Fact]
    public void NodeIdsThatArePrefixesOfEachOther_AreDifferentRecipients()
    {
        var frame = Key.Unconnected.SealFor("n1", 7, "beat"u8);

        Assert.Equal(AddressedOpenResult.ForAnotherNode, Key.Unconnected.TryOpenFor(frame, "n", out _, out _));
        Assert.Equal(AddressedOpenResult.ForAnotherNode, Key.Unconnected.TryOpenFor(frame, "n10", out _, out _));
        Assert.Equal(AddressedOpenResult.ForAnotherNode, Key.Unconnected.TryOpenFor(frame, "N1", out _, out _));
        Assert.Equal(AddressedOpenResult.Opened, Key.Unconnected.TryOpenFor(frame, "n1", out _, out _));
    }

    [Fact]
    public void AnySingleFlippedBit_MakesTheFrameNotSealed_NotOneForAnotherNode() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), ArbMap.Default.ArbFor<ulong>(), ArbMap.Default.ArbFor<int>(), (payload, sequence, where) =>
        {
            var frame = Key.Unconnected.SealFor("n1", sequence, payload);
            var bit = (int)((uint)where % (uint)(frame.Length * 8));
            frame[bit / 8] ^= (byte)(1 << (bit % 8));

            // Changing the recipient byte by byte (a forger readdressing a copy) breaks the tag: never "for another", never opened.
            Assert.Equal(AddressedOpenResult.NotSealed, Key.Unconnected.TryOpenFor(frame, "n1", out _, out _));
        }).Check(Many);

    [Fact]
    public void AFrameOfAnotherKey_RandomBytes_AndConnectionFrames_AreNotSealed_AndNeverThrow()
    {
        var other = ClusterKey.Generate();
        var (toServer, _) = Key.Session(new byte[16], new byte[16]);
        Assert.Equal(AddressedOpenResult.NotSealed, Key.Unconnected.TryOpenFor(other.Unconnected.SealFor("n1", 1, "beat"u8), "n1", out _, out _));
        Assert.Equal(AddressedOpenResult.NotSealed, Key.Unconnected.TryOpenFor(toServer.Seal(1, "beat"u8), "n1", out _, out _));
        Assert.Equal(AddressedOpenResult.NotSealed, Key.Unconnected.TryOpenFor([], "n1", out _, out _));
        Assert.Equal(AddressedOpenResult.NotSealed, Key.Unconnected.TryOpenFor([FrameSealer.AddressedMarker], "n1", out _, out _));

        var results = new Dictionary<AddressedOpenResult, int>();
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), ArbMap.Default.ArbFor<bool>(), (bytes, marked) =>
        {
            if (marked && bytes.Length > 0)
            {
                bytes[0] = FrameSealer.AddressedMarker; // past the marker check, into the length and tag checks
            }

            var result = Key.Unconnected.TryOpenFor(bytes, "n1", out _, out _);
            results[result] = results.GetValueOrDefault(result) + 1;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(20_000));
        Assert.Equal([AddressedOpenResult.NotSealed], results.Keys);
    }

    [Fact]
    public void AnUnaddressedOneWayFrame_OfTheOlderFormat_IsReportedAsSuch_NeverOpened()
    {
        var legacy = Key.Unconnected.Seal(5, "beat"u8);

        Assert.Equal(AddressedOpenResult.Unaddressed, Key.Unconnected.TryOpenFor(legacy, "n1", out _, out _));
        Assert.Equal(AddressedOpenResult.NotSealed, Key.Unconnected.TryOpenFor(ClusterKey.Generate().Unconnected.Seal(5, "beat"u8), "n1", out _, out _));
        Assert.False(Key.Unconnected.TryOpen(Key.Unconnected.SealFor("n1", 5, "beat"u8), out _, out _)); // nor the other way round
    }

    [Theory]
    [InlineData("")]
    [InlineData("n 1")]
    [InlineData("n1\u00e9")]
    public void SealingForSomethingThatIsNoNodeId_Throws(string recipient) =>
        Assert.Throws<ArgumentException>(() => Key.Unconnected.SealFor(recipient, 1, "beat"u8));

    [Fact]
    public void SealingForAnOverlongId_Throws() =>
        Assert.Throws<ArgumentException>(() => Key.Unconnected.SealFor(new string('a', 65), 1, "beat"u8));
}
