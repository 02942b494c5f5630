using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>The claim holder is still downloading; <paramref name="BytesDone"/> shows progress (a stalled claim is not renewed).</summary>
[MessagePackObject]
public sealed record ClaimRenew(
    [property: Key(0)] ulong ClaimId,
    [property: Key(1)] long BytesDone) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() => ClaimId != 0 && WireFormat.IsSize(BytesDone);
}
