using System.Buffers;
using System.Globalization;
using System.Reflection;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using MessagePack;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Tests.Protocol;

/// <summary>Generators of random contract instances, a newer node's extra elements, and the canonical dump compared.</summary>
public sealed partial class FormatterIdentityTests
{
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

        if (type.IsArray && type.GetElementType()!.GetCustomAttribute<MessagePackObjectAttribute>() is not null)
        {
            var element = type.GetElementType()!;
            var arrays = from length in Gen.Choose(0, 10)
                         from items in Gen.ArrayOf(Instances(element), length)
                         select (object?)CopyTo(element, items);
            return Gen.Frequency((1, Gen.Constant<object?>(null)), (4, arrays));
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

    private static Array CopyTo(Type element, object?[] items)
    {
        var array = Array.CreateInstance(element, items.Length);
        Array.Copy(items, array, items.Length);
        return array;
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
