using FsCheck;
using FsCheck.Fluent;
using MessagePack;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Tests.Protocol;

public sealed class WireCodecTests
{
    private const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    public static TheoryData<IMessage> EveryMessage() => new(Messages);

    private static IMessage[] Messages =>
    [
        new Hello("n0123456789abcdef", "abcdef0123456789", "debian-12-amd64", 47471, "0.1.0"),
        new HelloAck("n0123456789abcdef", "abcdef0123456789", NodeRole.Server, 47471, "0.1.0"),
        new Lookup("debian-12-amd64", "KB5031356", Sha, 1234, "n0123456789abcdef"),
        new Lookup("debian-12-amd64", "KB5031356", null, -1, "n0123456789abcdef"),
        LookupResult.Hit(Sha, 1234, "/v1/blobs/" + Sha),
        LookupResult.Miss(42, 15000),
        LookupResult.InFlight(1000, 250),
        new ClaimRenew(42, 1000),
        new ClaimRelease(42, "upstream 404"),
        new PushDone(42, Sha, 1234),
        new Ack(true, 15000, null),
        new ErrorReply(ErrorCode.NotServer, "not the server"),
        new Heartbeat("n0123456789abcdef", 3, 100, 1764000000000, 47471),
    ];

    [Theory]
    [MemberData(nameof(EveryMessage))]
    public void EveryMessage_RoundTripsThroughTheCodec(IMessage message)
    {
        var bytes = WireCodec.Encode(Envelope.Of(7, message));

        var decoded = WireCodec.TryDecode(bytes);

        Assert.True(decoded.Success, decoded.Detail);
        Assert.Equal(7UL, decoded.Envelope!.CorrelationId);
        Assert.Equal(message, decoded.Envelope.Body);
    }

    [Fact]
    public void DatagramOverTheSizeLimit_IsRefusedBeforeDecoding()
    {
        var decoded = WireCodec.TryDecode(new byte[ProtocolLimits.MaxMessageBytes + 1]);

        Assert.Equal(DecodeError.TooLarge, decoded.Error);
    }

    [Fact]
    public void EncodingAMessageOverTheLimit_Throws()
    {
        var huge = new ErrorReply(ErrorCode.Internal, new string('x', ProtocolLimits.MaxMessageBytes));

        Assert.Throws<ArgumentException>(() => WireCodec.Encode(Envelope.Of(1, huge)));
    }

    [Fact]
    public void OtherProtocolVersion_IsReportedAsSuch()
    {
        var bytes = WireCodec.Encode(new Envelope(ProtocolLimits.Magic, ProtocolLimits.Version + 1, 1, new Ack(true, 0, null)));

        Assert.Equal(DecodeError.VersionMismatch, WireCodec.TryDecode(bytes).Error);
    }

    [Fact]
    public void WrongMagic_IsMalformed()
    {
        var bytes = WireCodec.Encode(new Envelope(0x1234, ProtocolLimits.Version, 1, new Ack(true, 0, null)));

        Assert.Equal(DecodeError.Malformed, WireCodec.TryDecode(bytes).Error);
    }

    [Theory]
    [InlineData("debian-12-amd64", "KB1", "NOT-A-HASH")]
    [InlineData("Debian 12", "KB1", null)]
    [InlineData("debian-12-amd64", "", null)]
    [InlineData("debian-12-amd64", "bad\nname", null)]
    public void WellFormedMessagePackWithInvalidFields_IsRefused(string os, string name, string? sha)
    {
        var bytes = WireCodec.Encode(Envelope.Of(1, new Lookup(os, name, sha, 1, "n1")));

        Assert.Equal(DecodeError.Invalid, WireCodec.TryDecode(bytes).Error);
    }

    [Fact]
    public void DeeplyNestedHostileInput_IsACleanError_NotAStackOverflow()
    {
        // 4000 nested one-element arrays: with TrustedData this kind of input overflowed the stack.
        var bytes = new byte[4000];
        Array.Fill(bytes, (byte)0x91);

        var decoded = WireCodec.TryDecode(bytes);

        Assert.False(decoded.Success);
    }

    [Fact]
    public void CodecRunsWithUntrustedDataSecurity() =>
        Assert.Equal(MessagePackSecurity.UntrustedData.HashCollisionResistant, WireCodec.Options.Security.HashCollisionResistant);

    [Fact]
    public void RandomBytes_NeverThrow_AndAreAlmostNeverAccepted()
    {
        var accepted = 0;
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            var decoded = WireCodec.TryDecode(bytes);
            if (decoded.Success)
            {
                accepted++;
                Assert.True(decoded.Envelope!.Body.IsValid());
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5000));
        Assert.True(accepted < 50, $"{accepted} random inputs were accepted");
    }

    [Fact]
    public void MutatedValidDatagrams_NeverThrow_AndDecodeOnlyIntoValidMessages()
    {
        var random = new Random(12345);
        var seeds = Messages.Select(m => WireCodec.Encode(Envelope.Of(9, m))).ToList();
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = seeds[random.Next(seeds.Count)].ToArray();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            var decoded = WireCodec.TryDecode(bytes);
            Assert.True(!decoded.Success || decoded.Envelope!.Body.IsValid());
        }
    }
}
