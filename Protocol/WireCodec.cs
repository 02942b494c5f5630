using System.Buffers;
using MessagePack;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Messages.Formatters;

namespace PeerPatch.Protocol;

/// <summary>
/// Encodes and decodes envelopes. Decoding treats every byte as hostile: the length is checked before
/// MessagePack sees it, MessagePack runs with <see cref="MessagePackSecurity.UntrustedData"/>, and every
/// field is validated after decoding (random input can decode into well-typed garbage).
/// </summary>
/// <remarks>
/// The envelope formatter is called directly, not through <c>MessagePackSerializer</c>: that class's default options
/// root MessagePack's dynamic resolvers, which a Native AOT publish reports as 88 trim/AOT warnings inside
/// MessagePack.dll (2 remain without it, in MessagePackSecurity, on a path our formatters never take).
/// </remarks>
public static class WireCodec
{
    /// <summary>
    /// The serializer options used for every LAN message: the protocol's own hand-written formatters (no dynamic code,
    /// so Native AOT works), <see cref="MessagePackSecurity.UntrustedData"/>, and nesting capped at
    /// <see cref="ProtocolLimits.MaxObjectGraphDepth"/>.
    /// </summary>
    public static MessagePackSerializerOptions Options { get; } =
        new WireOptions(PeerPatchResolver.Instance)
            .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(ProtocolLimits.MaxObjectGraphDepth));

    /// <summary>Writes <paramref name="envelope"/> into <paramref name="writer"/>.</summary>
    /// <exception cref="ArgumentException">The encoded envelope would exceed <see cref="ProtocolLimits.MaxMessageBytes"/>.</exception>
    public static void Write(IBufferWriter<byte> writer, Envelope envelope)
    {
        var counting = new CountingWriter(writer);
        var msgpack = new MessagePackWriter(counting);
        EnvelopeFormatter.Instance.Serialize(ref msgpack, envelope, Options);
        msgpack.Flush();
        if (counting.Written > ProtocolLimits.MaxMessageBytes)
        {
            throw new ArgumentException($"message of {counting.Written} bytes exceeds the {ProtocolLimits.MaxMessageBytes}-byte limit", nameof(envelope));
        }
    }

    /// <summary>Encodes to a new array (tests and tools; the hot path uses <see cref="Write"/>).</summary>
    public static byte[] Encode(Envelope envelope)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, envelope);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes and validates one datagram. Never throws for bad input.</summary>
    public static DecodeResult TryDecode(ReadOnlyMemory<byte> datagram)
    {
        if (datagram.Length == 0)
        {
            return DecodeResult.Fail(DecodeError.Empty, "empty datagram");
        }

        if (datagram.Length > ProtocolLimits.MaxMessageBytes)
        {
            return DecodeResult.Fail(DecodeError.TooLarge, $"datagram of {datagram.Length} bytes exceeds {ProtocolLimits.MaxMessageBytes}");
        }

        Envelope? envelope;
        try
        {
            var reader = new MessagePackReader(datagram);
            envelope = EnvelopeFormatter.Instance.Deserialize(ref reader, Options);
            if (reader.Consumed != datagram.Length)
            {
                return DecodeResult.Fail(DecodeError.Malformed, "trailing bytes after message");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever hostile bytes make the reader throw (MessagePackSerializationException, EndOfStreamException,
            // InsufficientExecutionStackException past the depth limit, OverflowException...) is a malformed datagram,
            // as MessagePackSerializer reported it before.
            return DecodeResult.Fail(DecodeError.Malformed, e.Message);
        }

        if (envelope is null || envelope.Magic != ProtocolLimits.Magic)
        {
            return DecodeResult.Fail(DecodeError.Malformed, "bad magic");
        }

        if (envelope.Version != ProtocolLimits.Version)
        {
            return DecodeResult.Fail(DecodeError.VersionMismatch, $"protocol version {envelope.Version}, expected {ProtocolLimits.Version}");
        }

        if (envelope.Body is null || !envelope.Body.IsValid())
        {
            return DecodeResult.Fail(DecodeError.Invalid, $"invalid {envelope.Body?.GetType().Name ?? "empty"} message");
        }

        return DecodeResult.Ok(envelope);
    }

    /// <summary>
    /// The options' own type: the LAN protocol never loads a type by name, so <see cref="LoadType"/> loads none (the
    /// base class's reflection is then never compiled into a Native AOT executable), and copies stay of this type.
    /// </summary>
    private sealed class WireOptions : MessagePackSerializerOptions
    {
        public WireOptions(IFormatterResolver resolver)
            : base(resolver)
        {
        }

        private WireOptions(WireOptions copyFrom)
            : base(copyFrom)
        {
        }

        public override Type? LoadType(string typeName) => null;

        protected override MessagePackSerializerOptions Clone() => new WireOptions(this);
    }

    private sealed class CountingWriter(IBufferWriter<byte> inner) : IBufferWriter<byte>
    {
        public int Written { get; private set; }

        public void Advance(int count)
        {
            Written += count;
            inner.Advance(count);
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
    }
}
