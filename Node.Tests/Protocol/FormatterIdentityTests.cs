using System.Buffers;
using System.Reflection;
using FsCheck;
using FsCheck.Fluent;
using MessagePack;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Messages.Formatters;

namespace PeerPatch.Node.Tests.Protocol;

/// <summary>
/// The hand-written formatters (PeerPatchResolver, used by WireCodec so Native AOT works) against the attribute-driven
/// standard resolver, under JIT: same bytes for random instances of every contract type, each side decodes the other's
/// bytes, a newer node's extra keys are skipped, and no [MessagePackObject] or union case can lack a formatter.
/// </summary>
public sealed partial class FormatterIdentityTests
{
    private static readonly MessagePackSerializerOptions Standard =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    private static readonly MessagePackSerializerOptions Ours = WireCodec.Options;

    private static readonly Assembly ProtocolAssembly = typeof(WireCodec).Assembly;

    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(250);

    /// <summary>Every [MessagePackObject] type of the Protocol assembly.</summary>
    public static TheoryData<Type> ContractTypes() =>
        new(ProtocolAssembly.GetTypes().Where(t => t.GetCustomAttribute<MessagePackObjectAttribute>() is not null).OrderBy(t => t.Name));

    /// <summary>The [Union] cases of <see cref="IMessage"/>: key and type.</summary>
    public static TheoryData<int, Type> UnionCases()
    {
        var data = new TheoryData<int, Type>();
        foreach (var union in typeof(IMessage).GetCustomAttributes<UnionAttribute>())
        {
            data.Add(union.Key, union.SubType);
        }

        return data;
    }

    [Fact]
    public void TheProtocolHasContractTypes_SoTheTheoriesBelowAreNotVacuous()
    {
        Assert.True(ContractTypes().Count >= 13, $"only {ContractTypes().Count} [MessagePackObject] types found");
        Assert.True(UnionCases().Count >= 12, $"only {UnionCases().Count} union cases found");
    }

    [Theory]
    [MemberData(nameof(ContractTypes))]
    public void EveryContractType_HasAFormatterInTheResolver(Type type)
    {
        var formatter = typeof(PeerPatchResolver).GetMethod(nameof(PeerPatchResolver.GetFormatter))!.MakeGenericMethod(type).Invoke(PeerPatchResolver.Instance, null);

        Assert.True(formatter is not null, $"{type.Name} is a [MessagePackObject] without a formatter in PeerPatchResolver: write one (see Protocol/Messages/Formatters)");
        Assert.IsAssignableFrom(typeof(MessagePack.Formatters.IMessagePackFormatter<>).MakeGenericType(type), formatter);
    }

    [Theory]
    [MemberData(nameof(ContractTypes))]
    public void EveryContractType_UsesIntegerKeys_WhichTheFormattersWriteAsArrays(Type type)
    {
        Assert.False(type.GetCustomAttribute<MessagePackObjectAttribute>()!.KeyAsPropertyName, $"{type.Name}: string keys would be a map; the formatters write arrays");
        var keys = Keys(type).Select(k => k.Key).ToList();
        Assert.NotEmpty(keys);
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void EveryMessageType_IsAUnionCase_AndEveryUnionCaseHasAFormatter()
    {
        var cases = typeof(IMessage).GetCustomAttributes<UnionAttribute>().Select(u => u.SubType).ToHashSet();
        var implementations = ProtocolAssembly.GetTypes().Where(t => typeof(IMessage).IsAssignableFrom(t) && !t.IsInterface && !t.IsAbstract);

        Assert.All(implementations, t => Assert.True(cases.Contains(t), $"{t.Name} implements IMessage but has no [Union] key on IMessage"));
        Assert.All(cases, t => Assert.True(PeerPatchResolver.Formatters.ContainsKey(t), $"union case {t.Name} has no formatter"));
        Assert.True(PeerPatchResolver.Formatters.ContainsKey(typeof(IMessage)));
    }

    [Fact]
    public void WireCodecOptions_UseOurResolver_WithUntrustedDataAndTheProtocolDepthLimit()
    {
        Assert.Same(PeerPatchResolver.Instance, WireCodec.Options.Resolver);
        Assert.True(WireCodec.Options.Security.HashCollisionResistant);
        Assert.Equal(ProtocolLimits.MaxObjectGraphDepth, WireCodec.Options.Security.MaximumObjectGraphDepth);
    }

    [Theory]
    [MemberData(nameof(ContractTypes))]
    public void RandomInstances_EncodeToTheStandardResolversBytes_AndEachSideDecodesTheOther(Type type) =>
        Prop.ForAll(Arb.From(Instances(type)), value =>
        {
            var ours = MessagePackSerializer.Serialize(type, value, Ours);
            var standard = MessagePackSerializer.Serialize(type, value, Standard);
            if (!ours.AsSpan().SequenceEqual(standard))
            {
                Assert.Equal(Convert.ToHexString(standard), Convert.ToHexString(ours));
            }

            var decodedByOurs = MessagePackSerializer.Deserialize(type, standard, Ours);
            var decodedByStandard = MessagePackSerializer.Deserialize(type, ours, Standard);
            Assert.Equal(Dump(value), Dump(decodedByOurs));
            Assert.Equal(Dump(value), Dump(decodedByStandard));
        }).Check(Many);

    [Theory]
    [MemberData(nameof(UnionCases))]
    public void EachUnionCase_IsWrittenUnderItsAttributeKey(int key, Type type) =>
        Prop.ForAll(Arb.From(Instances(type, nullable: false)), value =>
        {
            var ours = MessagePackSerializer.Serialize<IMessage>((IMessage)value!, Ours);
            var reader = new MessagePackReader(ours);

            Assert.Equal(2, reader.ReadArrayHeader());
            Assert.Equal(key, reader.ReadInt32());
            Assert.Equal(Convert.ToHexString(MessagePackSerializer.Serialize<IMessage>((IMessage)value!, Standard)), Convert.ToHexString(ours));
            var again = new MessagePackReader(ours);
            Assert.Equal(Dump(value), Dump(PeerPatchResolver.Instance.GetFormatter<IMessage>()!.Deserialize(ref again, Ours)));
            Assert.True(again.End);
            Assert.Equal(0, again.Depth); // each formatter steps back out of the depth it stepped into
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(50));

    [Fact]
    public void NullAndForeignMessages_AreWrittenAsNil_LikeTheStandardResolver()
    {
        Assert.Equal(MessagePackSerializer.Serialize<IMessage?>(null, Standard), MessagePackSerializer.Serialize<IMessage?>(null, Ours));
        Assert.Equal(MessagePackSerializer.Serialize<IMessage>(new ForeignMessage(), Standard), MessagePackSerializer.Serialize<IMessage>(new ForeignMessage(), Ours));
        Assert.Equal([MessagePackCode.Nil], MessagePackSerializer.Serialize<IMessage>(new ForeignMessage(), Ours));
    }

    [Theory]
    [MemberData(nameof(ContractTypes))]
    public void ANewerNodesExtraTrailingElements_AreSkipped(Type type) =>
        Prop.ForAll(Arb.From(Instances(type, nullable: false)), Arb.From(Gen.Choose(1, Extras.Length)), (value, extraCount) =>
        {
            var current = MessagePackSerializer.Serialize(type, value, Ours);
            var future = WithExtraTrailingElements(current, Extras.Take(extraCount));

            Assert.Equal(Dump(value), Dump(MessagePackSerializer.Deserialize(type, future, Ours)));
            Assert.Equal(Dump(value), Dump(MessagePackSerializer.Deserialize(type, future, Standard)));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));

    [Fact]
    public void AnOlderNodesTwoKeyClaimRenew_DecodesAlike_AndNamesNoPatch()
    {
        // What a node from before the patch keys (2 to 6) sends: [ClaimId, BytesDone].
        var writer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(writer);
        w.WriteArrayHeader(2);
        w.Write(42UL);
        w.Write(1000L);
        w.Flush();

        var ours = MessagePackSerializer.Deserialize<ClaimRenew>(writer.WrittenMemory, Ours);
        var standard = MessagePackSerializer.Deserialize<ClaimRenew>(writer.WrittenMemory, Standard);

        Assert.Equal(new ClaimRenew(42, 1000, null, null, null, 0, null), ours);
        Assert.Equal(standard, ours);
        Assert.False(ours.NamesPatch());
        Assert.True(ours.IsValid());
    }

    [Fact]
    public void AFutureVersionsEnvelopeAndMessage_DecodeThroughTheCodec_WithTheirNewKeysIgnored()
    {
        // What a newer build would send: extra keys on the envelope and on Hello, written by the standard resolver.
        var future = new FutureEnvelope(ProtocolLimits.Magic, ProtocolLimits.Version, 77,
            new FutureHello("n1", "i1", "debian-12-amd64", 47471, "0.2.0", ["new", "list"], new Dictionary<string, int> { ["x"] = 1 }),
            "trailer", [[1, 2], [], [int.MinValue]]);
        var bytes = MessagePackSerializer.Serialize(future, Standard);

        var decoded = WireCodec.TryDecode(bytes);

        Assert.True(decoded.Success, decoded.Detail);
        Assert.Equal(77UL, decoded.Envelope!.CorrelationId);
        Assert.Equal(new Hello("n1", "i1", "debian-12-amd64", 47471, "0.2.0"), decoded.Envelope.Body);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(255)]
    [InlineData(int.MaxValue)]
    [InlineData(-1)]
    public void AnUnknownUnionKey_IsADecodeErrorNamingIt_NotACrash(int key)
    {
        var bytes = EnvelopeWithRawBody((ref MessagePackWriter writer) =>
        {
            writer.WriteArrayHeader(2);
            writer.Write(key);
            writer.WriteArrayHeader(1);
            writer.Write("a message this build does not know");
        });

        var decoded = WireCodec.TryDecode(bytes);

        Assert.Equal(DecodeError.Malformed, decoded.Error);
        Assert.Contains($"unknown message kind {key}", decoded.Detail, StringComparison.Ordinal);
        Assert.Null(MessagePackSerializer.Deserialize<Envelope>(bytes, Standard).Body); // the standard resolver's silent null, for the record
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void AUnionThatIsNotAPair_IsMalformed(int length)
    {
        var bytes = EnvelopeWithRawBody((ref MessagePackWriter writer) =>
        {
            writer.WriteArrayHeader(length);
            for (var i = 0; i < length; i++)
            {
                writer.Write(7);
            }
        });

        Assert.Equal(DecodeError.Malformed, WireCodec.TryDecode(bytes).Error);
        Assert.Throws<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<Envelope>(bytes, Standard));
    }

    [Fact]
    public void ANilBody_IsInvalid_AndAStringUnionKey_IsMalformed()
    {
        Assert.Equal(DecodeError.Invalid, WireCodec.TryDecode(EnvelopeWithRawBody((ref MessagePackWriter writer) => writer.WriteNil())).Error);
        Assert.Equal(DecodeError.Malformed, WireCodec.TryDecode(EnvelopeWithRawBody((ref MessagePackWriter writer) =>
        {
            writer.WriteArrayHeader(2);
            writer.Write("Hello");
            writer.WriteNil();
        })).Error);
    }

    [Fact]
    public void MutatedEnvelopes_DecodeAsTheStandardResolverDecodesThem_AndNeverThrowPastWireCodec() =>
        Prop.ForAll(Arb.From(Instances(typeof(Envelope), nullable: false)), Arb.From(Gen.Choose(0, int.MaxValue)), (value, seed) =>
        {
            var bytes = MessagePackSerializer.Serialize(typeof(Envelope), value, Ours);
            var random = new Random(seed);
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                var at = random.Next(2) == 0 ? random.Next(Math.Min(bytes.Length, 48)) : random.Next(bytes.Length); // mostly headers
                bytes[at] = (byte)random.Next(256);
            }

            Envelope? ours = null;
            string? oursError = null;
            var oursConsumed = 0L;
            try
            {
                var reader = new MessagePackReader(bytes);
                ours = PeerPatchResolver.Instance.GetFormatter<Envelope>()!.Deserialize(ref reader, Ours);
                oursConsumed = reader.Consumed;
            }
            catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or OverflowException or ArgumentOutOfRangeException or InsufficientExecutionStackException)
            {
                oursError = e.Message; // the exception types WireCodec.TryDecode turns into Malformed; any other escapes and fails here
            }

            Envelope? standard = null;
            var standardFailed = false;
            var standardConsumed = 0;
            try
            {
                standard = MessagePackSerializer.Deserialize<Envelope>(bytes, Standard, out standardConsumed);
            }
            catch (MessagePackSerializationException)
            {
                standardFailed = true;
            }

            if (oursError?.StartsWith("unknown message kind", StringComparison.Ordinal) == true)
            {
                Assert.True(standardFailed || standard?.Body is null, "an unknown kind the standard resolver decoded");
            }
            else
            {
                Assert.Equal(standardFailed, oursError is not null);
                Assert.Equal(Dump(standard), Dump(ours));
                Assert.Equal(standardConsumed, oursConsumed);
            }

            _ = WireCodec.TryDecode(bytes); // never throws
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));

    [Fact]
    public void TheDepthLimit_CountsTheEnvelopeTheUnionAndTheMessage()
    {
        var bytes = WireCodec.Encode(Envelope.Of(1, new Ack(true, 0, null)));
        var formatter = PeerPatchResolver.Instance.GetFormatter<Envelope>()!;

        var fits = new MessagePackReader(bytes) { Depth = ProtocolLimits.MaxObjectGraphDepth - 3 };
        Assert.NotNull(formatter.Deserialize(ref fits, Ours));
        Assert.Equal(ProtocolLimits.MaxObjectGraphDepth - 3, fits.Depth); // every level stepped back out

        var tooDeep = new MessagePackReader(bytes) { Depth = ProtocolLimits.MaxObjectGraphDepth - 2 };
        Exception? error = null;
        try
        {
            formatter.Deserialize(ref tooDeep, Ours);
        }
        catch (InsufficientExecutionStackException e)
        {
            error = e;
        }

        Assert.NotNull(error);
    }
}
