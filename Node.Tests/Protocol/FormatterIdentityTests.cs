using System.Buffers;
using System.Globalization;
using System.Reflection;
using System.Text;
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
public sealed class FormatterIdentityTests
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

    // ---- generators ----

    private static readonly long[] SignedEdges =
    [
        0, 1, -1, 31, 32, -32, -33, 127, 128, -128, -129, 255, 256, short.MaxValue, short.MaxValue + 1, short.MinValue,
        short.MinValue - 1, ushort.MaxValue, ushort.MaxValue + 1, int.MaxValue, int.MaxValue + 1L, int.MinValue,
        int.MinValue - 1L, uint.MaxValue, uint.MaxValue + 1L, long.MaxValue, long.MinValue,
    ];

    private static readonly ulong[] UnsignedEdges =
    [
        0, 1, 127, 128, 255, 256, ushort.MaxValue, ushort.MaxValue + 1, uint.MaxValue, uint.MaxValue + 1UL,
        long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue,
    ];

    // Lengths around every str/bin header size (fix 31, 8-bit 255, 16-bit 65535) and the datagram limit.
    private static readonly int[] EdgeLengths = [0, 1, 15, 16, 17, 31, 32, 255, 256, 4096, 65535, 65536, 70000];

    private static Gen<object?> Instances(Type type, bool nullable = true)
    {
        var ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        var fields = Gen.CollectToArray(ctor.GetParameters().Select(p => ValuesOf(p.ParameterType)));
        var instances = fields.Select(args => (object?)ctor.Invoke(args));
        return nullable ? Gen.Frequency((1, Gen.Constant<object?>(null)), (19, instances)) : instances;
    }

    private static Gen<object?> ValuesOf(Type type)
    {
        if (type == typeof(string))
        {
            return Strings();
        }

        if (type == typeof(byte[]))
        {
            return Bytes();
        }

        if (type == typeof(IMessage))
        {
            var cases = typeof(IMessage).GetCustomAttributes<UnionAttribute>().Select(u => Instances(u.SubType, nullable: false));
            return Gen.Frequency((1, Gen.Constant<object?>(null)), (19, Gen.OneOf(cases)));
        }

        if (type.IsEnum)
        {
            return Gen.Choose(0, 255).Select(b => (object?)Enum.ToObject(type, (byte)b)); // defined or not
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.Boolean => Gen.Elements(true, false).Select(b => (object?)b),
            TypeCode.Byte => Numbers(UnsignedEdges.Where(v => v <= byte.MaxValue).Select(v => (byte)v)),
            TypeCode.UInt16 => Numbers(UnsignedEdges.Where(v => v <= ushort.MaxValue).Select(v => (ushort)v)),
            TypeCode.Int32 => Numbers(SignedEdges.Where(v => v is >= int.MinValue and <= int.MaxValue).Select(v => (int)v)),
            TypeCode.Int64 => Numbers(SignedEdges),
            TypeCode.UInt64 => Numbers(UnsignedEdges),
            _ => throw new NotSupportedException($"no generator for {type}: add one, and a formatter case"),
        };
    }

    private static Gen<object?> Numbers<T>(IEnumerable<T> edges) =>
        Gen.Frequency(
            (3, ArbMap.Default.ArbFor<T>().Generator.Select(v => (object?)v)),
            (3, Gen.Elements(edges.ToArray()).Select(v => (object?)v)));

    private static Gen<object?> Strings()
    {
        var edge = from length in Gen.Elements(EdgeLengths)
                   from unit in Gen.Elements("a", "\u00e9", "\u20ac", "\U0001F600")
                   select (object?)string.Concat(Enumerable.Repeat(unit, Math.Max(0, length / unit.Length)));
        return Gen.Frequency(
            (1, Gen.Constant<object?>(null)),
            (1, Gen.Constant<object?>(string.Empty)),
            (4, ArbMap.Default.ArbFor<string>().Generator.Select(s => (object?)s)), // may hold lone surrogates
            (2, edge));
    }

    private static Gen<object?> Bytes() =>
        Gen.Frequency(
            (1, Gen.Constant<object?>(null)),
            (1, Gen.Constant<object?>(Array.Empty<byte>())),
            (4, ArbMap.Default.ArbFor<byte[]>().Generator.Select(b => (object?)b)),
            (2, Gen.Elements(EdgeLengths).Select(n => (object?)Enumerable.Range(0, n).Select(i => (byte)(i * 7)).ToArray())));

    // Values a newer build might add as trailing keys, including a nesting far deeper than the depth limit (skipped
    // elements are not decoded, so they do not count).
    private static readonly WriteValue[] Extras =
    [
        (ref MessagePackWriter w) => w.WriteNil(),
        (ref MessagePackWriter w) => w.Write(-5),
        (ref MessagePackWriter w) => w.Write("a newer field"),
        (ref MessagePackWriter w) => w.Write(new byte[300]),
        (ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("k");
            w.Write(ulong.MaxValue);
            w.Write(1);
            w.WriteArrayHeader(2);
            w.Write(1.5);
            w.Write(true);
        },
        (ref MessagePackWriter w) => w.WriteRaw(Nested(200)),
    ];

    private static byte[] WithExtraTrailingElements(byte[] current, IEnumerable<WriteValue> extras)
    {
        var reader = new MessagePackReader(current);
        if (reader.TryReadNil())
        {
            return current;
        }

        var length = reader.ReadArrayHeader();
        var body = current.AsMemory((int)reader.Consumed);
        var list = extras.ToList();
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(length + list.Count);
        writer.WriteRaw(body.Span);
        foreach (var extra in list)
        {
            extra(ref writer);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Nested(int depth)
    {
        var bytes = new byte[depth + 1];
        Array.Fill(bytes, (byte)0x91); // one-element arrays
        bytes[^1] = MessagePackCode.Nil;
        return bytes;
    }

    private static byte[] EnvelopeWithRawBody(WriteValue writeBody)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(4);
        writer.Write(ProtocolLimits.Magic);
        writer.Write(ProtocolLimits.Version);
        writer.Write(1UL);
        writeBody(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private delegate void WriteValue(ref MessagePackWriter writer);

    // ---- comparison ----

    private static IEnumerable<(int Key, PropertyInfo Property)> Keys(Type type) =>
        type.GetProperties()
            .Select(p => (Attribute: p.GetCustomAttribute<KeyAttribute>(), Property: p))
            .Where(x => x.Attribute is not null)
            .Select(x => (x.Attribute!.IntKey ?? throw new InvalidOperationException($"{type.Name}.{x.Property.Name} has a string key"), x.Property))
            .OrderBy(x => x.Item1);

    /// <summary>A canonical text of a decoded value: every keyed field in key order, bytes as hex, strings as UTF-8 keeps them.</summary>
    private static string Dump(object? value) => value switch
    {
        null => "nil",
        string s => "\"" + Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)) + "\"", // a lone surrogate travels as U+FFFD
        byte[] b => "0x" + Convert.ToHexString(b),
        Enum e => e.GetType().Name + "(" + Convert.ToUInt64(e, CultureInfo.InvariantCulture) + ")",
        IFormattable f when value.GetType().IsPrimitive => f.ToString(null, CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => value.GetType().Name + "{" + string.Join(", ", Keys(value.GetType()).Select(k => k.Key + "=" + Dump(k.Property.GetValue(value)))) + "}",
    };

    /// <summary>An <see cref="IMessage"/> outside the union: both resolvers write nil for it.</summary>
    private sealed class ForeignMessage : IMessage
    {
        public bool IsValid() => true;
    }

    /// <summary>A newer build's envelope: two extra keys.</summary>
    [MessagePackObject]
    public sealed record FutureEnvelope(
        [property: Key(0)] ushort Magic,
        [property: Key(1)] byte Version,
        [property: Key(2)] ulong CorrelationId,
        [property: Key(3)] IFutureMessage Body,
        [property: Key(4)] string Trailer,
        [property: Key(5)] int[][] Matrix);

    /// <summary>A newer build's message union (Hello keeps key 0).</summary>
    [Union(0, typeof(FutureHello))]
    public interface IFutureMessage;

    /// <summary>A newer build's Hello: two extra keys.</summary>
    [MessagePackObject]
    public sealed record FutureHello(
        [property: Key(0)] string NodeId,
        [property: Key(1)] string InstanceId,
        [property: Key(2)] string OsVersion,
        [property: Key(3)] int HttpPort,
        [property: Key(4)] string SoftwareVersion,
        [property: Key(5)] string[] Tags,
        [property: Key(6)] Dictionary<string, int> Extra) : IFutureMessage;
}
