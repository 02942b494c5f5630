using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="ErrorReply"/> as an array in key order: 0 Code, 1 Message. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class ErrorReplyFormatter : IMessagePackFormatter<ErrorReply?>
{
    public static readonly ErrorReplyFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, ErrorReply? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(2);
        writer.Write((byte)value.Code);
        writer.Write(value.Message); // nil when null
    }

    public ErrorReply? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        ErrorCode code = default;
        string? message = null;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    code = (ErrorCode)reader.ReadByte();
                    break;
                case 1:
                    message = reader.ReadString();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new ErrorReply(code, message!);
    }
}
