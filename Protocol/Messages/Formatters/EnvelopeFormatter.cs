using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="Envelope"/> as an array in key order: 0 Magic, 1 Version, 2 CorrelationId, 3 Body. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class EnvelopeFormatter : IMessagePackFormatter<Envelope?>
{
    public static readonly EnvelopeFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, Envelope? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(4);
        writer.Write(value.Magic);
        writer.Write(value.Version);
        writer.Write(value.CorrelationId);
        MessageUnionFormatter.Instance.Serialize(ref writer, value.Body, options);
    }

    public Envelope? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        ushort magic = default;
        byte version = default;
        ulong correlationId = default;
        IMessage? body = null;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    magic = reader.ReadUInt16();
                    break;
                case 1:
                    version = reader.ReadByte();
                    break;
                case 2:
                    correlationId = reader.ReadUInt64();
                    break;
                case 3:
                    body = MessageUnionFormatter.Instance.Deserialize(ref reader, options);
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new Envelope(magic, version, correlationId, body!);
    }
}
