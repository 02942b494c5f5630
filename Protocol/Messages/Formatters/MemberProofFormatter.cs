using System.Buffers;
using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="MemberProof"/> as an array in key order: 0 NodeId, 1 Nonce, 2 Role, 3 Term, 4 Priority, 5 Since, 6 HttpPort. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class MemberProofFormatter : IMessagePackFormatter<MemberProof?>
{
    public static readonly MemberProofFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, MemberProof? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(7);
        writer.Write(value.NodeId); // nil when null
        writer.Write(value.Nonce); // nil when null, else bin 8/16/32
        writer.Write((byte)value.Role);
        writer.Write(value.Term);
        writer.Write(value.Priority);
        writer.Write(value.Since);
        writer.Write(value.HttpPort);
    }

    public MemberProof? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        string? nodeId = null;
        byte[]? nonce = null;
        NodeRole role = default;
        long term = default;
        int priority = default;
        long since = default;
        int httpPort = default;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    nodeId = reader.ReadString();
                    break;
                case 1:
                    nonce = reader.TryReadNil() ? null : reader.ReadBytes()?.ToArray();
                    break;
                case 2:
                    role = (NodeRole)reader.ReadByte();
                    break;
                case 3:
                    term = reader.ReadInt64();
                    break;
                case 4:
                    priority = reader.ReadInt32();
                    break;
                case 5:
                    since = reader.ReadInt64();
                    break;
                case 6:
                    httpPort = reader.ReadInt32();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new MemberProof(nodeId!, nonce!, role, term, priority, since, httpPort);
    }
}
