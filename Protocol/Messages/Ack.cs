using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>Generic answer: <paramref name="Ok"/> false means the claim is gone or the push is not stored.</summary>
/// <param name="RateLimit">To a claim renewal: the holder's current share of the LAN-wide internet rate cap, bytes/s; 0: no cap.</param>
[MessagePackObject]
public sealed record Ack(
    [property: Key(0)] bool Ok,
    [property: Key(1)] int LeaseMs,
    [property: Key(2)] string? Detail,
    [property: Key(3)] long RateLimit = 0) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() => LeaseMs is >= 0 and <= 3_600_000 && RateLimit >= 0 && WireFormat.IsDetail(Detail);
}
