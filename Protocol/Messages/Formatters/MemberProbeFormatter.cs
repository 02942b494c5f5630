using System.Buffers;
using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="MemberProbe"/> as an array in key order: 0 FromId, 1 Nonce. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class MemberProbeFormatter : IMessagePackFormatter<MemberProbe?>
{
    public static readonly MemberProbeFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, MemberProbe? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(2);
        writer.Write(value.FromId); // nil when null
        writer.Write(value.Nonce); // nil when null, else bin 8/16/32
    }

    public MemberProbe? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        string? fromId = null;
        byte[]? nonce = null;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    fromId = reader.ReadString();
                    break;
                case 1:
                    nonce = reader.TryReadNil() ? null : reader.ReadBytes()?.ToArray();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new MemberProbe(fromId!, nonce!);
    }
}
