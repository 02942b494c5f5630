using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>The claim holder finished its HTTP push of the blob; the server answers whether it holds the blob now.</summary>
[MessagePackObject]
public sealed record PushDone(
    [property: Key(0)] ulong ClaimId,
    [property: Key(1)] string Sha256,
    [property: Key(2)] long Size) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() => ClaimId != 0 && WireFormat.IsSha256(Sha256) && WireFormat.IsSize(Size);
}
