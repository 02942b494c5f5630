using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="Lookup"/> as an array in key order: 0 OsVersion, 1 PatchName, 2 ExpectedSha256, 3 ExpectedSize, 4 NodeId, 5 CompactHit. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class LookupFormatter : IMessagePackFormatter<Lookup?>
{
    public static readonly LookupFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, Lookup? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(6);
        writer.Write(value.OsVersion); // nil when null
        writer.Write(value.PatchName); // nil when null
        writer.Write(value.ExpectedSha256); // nil when null
        writer.Write(value.ExpectedSize);
        writer.Write(value.NodeId); // nil when null
        writer.Write(value.CompactHit);
    }

    public Lookup? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        string? osVersion = null;
        string? patchName = null;
        string? expectedSha256 = null;
        long expectedSize = default;
        string? nodeId = null;
        bool compactHit = default;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    osVersion = reader.ReadString();
                    break;
                case 1:
                    patchName = reader.ReadString();
                    break;
                case 2:
                    expectedSha256 = reader.ReadString();
                    break;
                case 3:
                    expectedSize = reader.ReadInt64();
                    break;
                case 4:
                    nodeId = reader.ReadString();
                    break;
                case 5:
                    compactHit = reader.ReadBoolean();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new Lookup(osVersion!, patchName!, expectedSha256, expectedSize, nodeId!, compactHit);
    }
}
