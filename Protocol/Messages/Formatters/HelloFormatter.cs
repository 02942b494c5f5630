using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="Hello"/> as an array in key order: 0 NodeId, 1 InstanceId, 2 OsVersion, 3 HttpPort, 4 SoftwareVersion. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class HelloFormatter : IMessagePackFormatter<Hello?>
{
    public static readonly HelloFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, Hello? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(5);
        writer.Write(value.NodeId); // nil when null
        writer.Write(value.InstanceId); // nil when null
        writer.Write(value.OsVersion); // nil when null
        writer.Write(value.HttpPort);
        writer.Write(value.SoftwareVersion); // nil when null
    }

    public Hello? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        string? nodeId = null;
        string? instanceId = null;
        string? osVersion = null;
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
                    osVersion = reader.ReadString();
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
        return new Hello(nodeId!, instanceId!, osVersion!, httpPort, softwareVersion!);
    }
}
