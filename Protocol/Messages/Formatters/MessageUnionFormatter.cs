using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

// Hand-written: the code MessagePack's source generator would emit for the [Union] on IMessage. Native AOT
// cannot run the standard resolver's dynamic code, and no generator is served here (see PeerPatchResolver).

/// <summary>
/// An <see cref="IMessage"/> as <c>[union key, body]</c>, byte-identical with the standard resolver's
/// DynamicUnionResolver: nil for null or for a type outside the union. Reading differs in one way on purpose: an
/// unknown union key (a newer node's message) is a decode error naming the key, where the standard resolver
/// silently returned null.
/// </summary>
internal sealed class MessageUnionFormatter : IMessagePackFormatter<IMessage?>
{
    public static readonly MessageUnionFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, IMessage? value, MessagePackSerializerOptions options)
    {
        // The keys are those of the [Union] attributes on IMessage; FormatterIdentityTests holds the two together.
        switch (value)
        {
            case Hello body:
                WriteHeader(ref writer, 0);
                HelloFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case HelloAck body:
                WriteHeader(ref writer, 1);
                HelloAckFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case Lookup body:
                WriteHeader(ref writer, 2);
                LookupFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case LookupResult body:
                WriteHeader(ref writer, 3);
                LookupResultFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case ClaimRenew body:
                WriteHeader(ref writer, 4);
                ClaimRenewFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case ClaimRelease body:
                WriteHeader(ref writer, 5);
                ClaimReleaseFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case PushDone body:
                WriteHeader(ref writer, 6);
                PushDoneFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case Ack body:
                WriteHeader(ref writer, 7);
                AckFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case ErrorReply body:
                WriteHeader(ref writer, 8);
                ErrorReplyFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case Heartbeat body:
                WriteHeader(ref writer, 9);
                HeartbeatFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case MemberProbe body:
                WriteHeader(ref writer, 10);
                MemberProbeFormatter.Instance.Serialize(ref writer, body, options);
                break;
            case MemberProof body:
                WriteHeader(ref writer, 11);
                MemberProofFormatter.Instance.Serialize(ref writer, body, options);
                break;
            default:
                writer.WriteNil(); // null, or an IMessage outside the union
                break;
        }
    }

    public IMessage? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var length = reader.ReadArrayHeader();
        if (length != 2)
        {
            throw new MessagePackSerializationException($"a message body is [kind, fields], not an array of {length}");
        }

        var key = reader.ReadInt32();
        IMessage? result = key switch
        {
            0 => HelloFormatter.Instance.Deserialize(ref reader, options),
            1 => HelloAckFormatter.Instance.Deserialize(ref reader, options),
            2 => LookupFormatter.Instance.Deserialize(ref reader, options),
            3 => LookupResultFormatter.Instance.Deserialize(ref reader, options),
            4 => ClaimRenewFormatter.Instance.Deserialize(ref reader, options),
            5 => ClaimReleaseFormatter.Instance.Deserialize(ref reader, options),
            6 => PushDoneFormatter.Instance.Deserialize(ref reader, options),
            7 => AckFormatter.Instance.Deserialize(ref reader, options),
            8 => ErrorReplyFormatter.Instance.Deserialize(ref reader, options),
            9 => HeartbeatFormatter.Instance.Deserialize(ref reader, options),
            10 => MemberProbeFormatter.Instance.Deserialize(ref reader, options),
            11 => MemberProofFormatter.Instance.Deserialize(ref reader, options),
            _ => throw new MessagePackSerializationException($"unknown message kind {key} (from a newer node?)"),
        };

        reader.Depth--;
        return result;
    }

    private static void WriteHeader(ref MessagePackWriter writer, int key)
    {
        writer.WriteArrayHeader(2);
        writer.Write(key);
    }
}
