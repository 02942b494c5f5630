using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="ClaimRenew"/> as an array in key order: 0 ClaimId, 1 BytesDone, 2 OsVersion, 3 PatchName, 4 Sha256, 5 Size,
/// 6 NodeId. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class ClaimRenewFormatter : IMessagePackFormatter<ClaimRenew?>
{
    public static readonly ClaimRenewFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, ClaimRenew? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(7);
        writer.Write(value.ClaimId);
        writer.Write(value.BytesDone);
        writer.Write(value.OsVersion); // nil when null
        writer.Write(value.PatchName); // nil when null
        writer.Write(value.Sha256); // nil when null
        writer.Write(value.Size);
        writer.Write(value.NodeId); // nil when null
    }

    public ClaimRenew? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        ulong claimId = default;
        long bytesDone = default;
        string? osVersion = null;
        string? patchName = null;
        string? sha256 = null;
        long size = default; // an older node's two keys: the standard resolver's default too, not the constructor's
        string? nodeId = null;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    claimId = reader.ReadUInt64();
                    break;
                case 1:
                    bytesDone = reader.ReadInt64();
                    break;
                case 2:
                    osVersion = reader.ReadString();
                    break;
                case 3:
                    patchName = reader.ReadString();
                    break;
                case 4:
                    sha256 = reader.ReadString();
                    break;
                case 5:
                    size = reader.ReadInt64();
                    break;
                case 6:
                    nodeId = reader.ReadString();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new ClaimRenew(claimId, bytesDone, osVersion, patchName, sha256, size, nodeId);
    }
}
