using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="Heartbeat"/> as an array in key order: 0 ServerId, 1 Term, 2 Priority, 3 Since, 4 HttpPort, 5 InternetDay, 6 InternetUsed. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class HeartbeatFormatter : IMessagePackFormatter<Heartbeat?>
{
    public static readonly HeartbeatFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, Heartbeat? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(7);
        writer.Write(value.ServerId); // nil when null
        writer.Write(value.Term);
        writer.Write(value.Priority);
        writer.Write(value.Since);
        writer.Write(value.HttpPort);
        writer.Write(value.InternetDay);
        writer.Write(value.InternetUsed);
    }

    public Heartbeat? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        string? serverId = null;
        long term = default;
        int priority = default;
        long since = default;
        int httpPort = default;
        int internetDay = default;
        long internetUsed = default;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    serverId = reader.ReadString();
                    break;
                case 1:
                    term = reader.ReadInt64();
                    break;
                case 2:
                    priority = reader.ReadInt32();
                    break;
                case 3:
                    since = reader.ReadInt64();
                    break;
                case 4:
                    httpPort = reader.ReadInt32();
                    break;
                case 5:
                    internetDay = reader.ReadInt32();
                    break;
                case 6:
                    internetUsed = reader.ReadInt64();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new Heartbeat(serverId!, term, priority, since, httpPort, internetDay, internetUsed);
    }
}
