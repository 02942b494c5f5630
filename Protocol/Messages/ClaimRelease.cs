using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>The claim holder gives up (its download failed); the next asker gets the claim.</summary>
[MessagePackObject]
public sealed record ClaimRelease(
    [property: Key(0)] ulong ClaimId,
    [property: Key(1)] string? Reason) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() => ClaimId != 0 && WireFormat.IsDetail(Reason);
}
