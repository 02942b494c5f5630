using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>Generic answer: <paramref name="Ok"/> false means the claim is gone or the push is not stored.</summary>
[MessagePackObject]
public sealed record Ack(
    [property: Key(0)] bool Ok,
    [property: Key(1)] int LeaseMs,
    [property: Key(2)] string? Detail) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() => LeaseMs is >= 0 and <= 3_600_000 && WireFormat.IsDetail(Detail);
}
