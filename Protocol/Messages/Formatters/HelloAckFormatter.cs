using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="HelloAck"/> as an array in key order: 0 NodeId, 1 InstanceId, 2 Role, 3 HttpPort, 4 SoftwareVersion. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class HelloAckFormatter : IMessagePackFormatter<HelloAck?>
{
    public static readonly HelloAckFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, HelloAck? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(5);
        writer.Write(value.NodeId); // nil when null
        writer.Write(value.InstanceId); // nil when null
        writer.Write((byte)value.Role);
        writer.Write(value.HttpPort);
        writer.Write(value.SoftwareVersion); // nil when null
    }

    public HelloAck? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        string? nodeId = null;
        string? instanceId = null;
        NodeRole role = default;
        int httpPort = default;
        string? softwareVersion = null;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    nodeId = reader.ReadString();
                    break;
                case 1:
                    instanceId = reader.ReadString();
                    break;
                case 2:
                    role = (NodeRole)reader.ReadByte();
                    break;
                case 3:
                    httpPort = reader.ReadInt32();
                    break;
                case 4:
                    softwareVersion = reader.ReadString();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new HelloAck(nodeId!, instanceId!, role, httpPort, softwareVersion!);
    }
}
