using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for this [MessagePackObject]. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// <see cref="PeerSource"/> as an array in key order: 0 NodeId, 1 BlobUrl. Byte-identical with the standard resolver;
/// extra trailing elements (a newer node's keys) are skipped on read.
/// </summary>
internal sealed class PeerSourceFormatter : IMessagePackFormatter<PeerSource?>
{
    public static readonly PeerSourceFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, PeerSource? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(2);
        writer.Write(value.NodeId);
        writer.Write(value.BlobUrl);
    }

    public PeerSource? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        string? nodeId = null;
        string? blobUrl = null;
        for (var key = 0; key < length; key++)
        {
            switch (key)
            {
                case 0:
                    nodeId = reader.ReadString();
                    break;
                case 1:
                    blobUrl = reader.ReadString();
                    break;
                default:
                    reader.Skip(); // a key this build does not know
                    break;
            }
        }

        reader.Depth--;
        return new PeerSource(nodeId!, blobUrl!);
    }
}

/// <summary>
/// An array of <see cref="PeerSource"/>, as the standard resolver's array formatter writes it: nil for null, else
/// the count and each element. On read a count larger than the bytes left is refused before anything is allocated
/// (every element takes at least one byte), so a forged header cannot make a datagram allocate gigabytes.
/// </summary>
internal sealed class PeerSourceArrayFormatter : IMessagePackFormatter<PeerSource[]?>
{
    public static readonly PeerSourceArrayFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, PeerSource[]? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(value.Length);
        foreach (var source in value)
        {
            PeerSourceFormatter.Instance.Serialize(ref writer, source, options);
        }
    }

    public PeerSource[]? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        var count = reader.ReadArrayHeader(); // throws when the count exceeds the bytes left
        if (count == 0)
        {
            return [];
        }

        options.Security.DepthStep(ref reader);
        var sources = new PeerSource[count];
        for (var i = 0; i < count; i++)
        {
            sources[i] = PeerSourceFormatter.Instance.Deserialize(ref reader, options)!;
        }

        reader.Depth--;
        return sources;
    }
}
