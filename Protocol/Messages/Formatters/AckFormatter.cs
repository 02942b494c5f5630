using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="Ack"/> as an array in key order: 0 Ok, 1 LeaseMs, 2 Detail, 3 RateLimit. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class AckFormatter : IMessagePackFormatter<Ack?>
{
    public static readonly AckFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, Ack? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(4);
        writer.Write(value.Ok);
        writer.Write(value.LeaseMs);
        writer.Write(value.Detail); // nil when null
        writer.Write(value.RateLimit);
    }

    public Ack? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        bool ok = default;
        int leaseMs = default;
        string? detail = null;
        long rateLimit = default;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    ok = reader.ReadBoolean();
                    break;
                case 1:
                    leaseMs = reader.ReadInt32();
                    break;
                case 2:
                    detail = reader.ReadString();
                    break;
                case 3:
                    rateLimit = reader.ReadInt64();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new Ack(ok, leaseMs, detail, rateLimit);
    }
}
