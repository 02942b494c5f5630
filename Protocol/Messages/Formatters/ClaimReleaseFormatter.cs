using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="ClaimRelease"/> as an array in key order: 0 ClaimId, 1 Reason. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class ClaimReleaseFormatter : IMessagePackFormatter<ClaimRelease?>
{
    public static readonly ClaimReleaseFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, ClaimRelease? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(2);
        writer.Write(value.ClaimId);
        writer.Write(value.Reason); // nil when null
    }

    public ClaimRelease? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        ulong claimId = default;
        string? reason = null;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    claimId = reader.ReadUInt64();
                    break;
                case 1:
                    reason = reader.ReadString();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new ClaimRelease(claimId, reason);
    }
}
