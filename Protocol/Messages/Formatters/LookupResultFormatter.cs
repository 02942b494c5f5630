using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="LookupResult"/> as an array in key order: 0 Outcome, 1 Sha256, 2 Size, 3 BlobUrl, 4 ClaimId, 5 LeaseMs, 6 RetryAfterMs, 7 Sources, 8 PieceSize, 9 RateLimit, 10 HeldBy, 11 ServerListed. Byte-identical with the standard resolver:
/// nil for a null object or member; extra trailing elements (a newer node's keys) are skipped on read; nil in a
/// non-nullable member decodes to null, as there, and is refused by validation.
/// </summary>
internal sealed class LookupResultFormatter : IMessagePackFormatter<LookupResult?>
{
    public static readonly LookupResultFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, LookupResult? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(12);
        writer.Write((byte)value.Outcome);
        writer.Write(value.Sha256); // nil when null
        writer.Write(value.Size);
        writer.Write(value.BlobUrl); // nil when null
        writer.Write(value.ClaimId);
        writer.Write(value.LeaseMs);
        writer.Write(value.RetryAfterMs);
        PeerSourceArrayFormatter.Instance.Serialize(ref writer, value.Sources, options);
        writer.Write(value.PieceSize);
        writer.Write(value.RateLimit);
        writer.Write(value.HeldBy); // nil when null
        writer.Write(value.ServerListed);
    }

    public LookupResult? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        LookupOutcome outcome = default;
        string? sha256 = null;
        long size = default;
        string? blobUrl = null;
        ulong claimId = default;
        int leaseMs = default;
        int retryAfterMs = default;
        PeerSource[]? sources = null;
        int pieceSize = default;
        long rateLimit = default;
        string? heldBy = null;
        bool serverListed = default;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    outcome = (LookupOutcome)reader.ReadByte();
                    break;
                case 1:
                    sha256 = reader.ReadString();
                    break;
                case 2:
                    size = reader.ReadInt64();
                    break;
                case 3:
                    blobUrl = reader.ReadString();
                    break;
                case 4:
                    claimId = reader.ReadUInt64();
                    break;
                case 5:
                    leaseMs = reader.ReadInt32();
                    break;
                case 6:
                    retryAfterMs = reader.ReadInt32();
                    break;
                case 7:
                    sources = PeerSourceArrayFormatter.Instance.Deserialize(ref reader, options);
                    break;
                case 8:
                    pieceSize = reader.ReadInt32();
                    break;
                case 9:
                    rateLimit = reader.ReadInt64();
                    break;
                case 10:
                    heldBy = reader.ReadString();
                    break;
                case 11:
                    serverListed = reader.ReadBoolean();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new LookupResult(outcome, sha256, size, blobUrl, claimId, leaseMs, retryAfterMs, sources, pieceSize, rateLimit, heldBy, serverListed);
    }
}
