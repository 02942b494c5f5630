using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>A refused request.</summary>
[MessagePackObject]
public sealed record ErrorReply(
    [property: Key(0)] ErrorCode Code,
    [property: Key(1)] string Message) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() => Enum.IsDefined(Code) && WireFormat.IsDetail(Message);
}
