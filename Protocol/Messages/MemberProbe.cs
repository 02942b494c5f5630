using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>
/// "Prove you hold the cluster key": sent (sealed, one-way) to a node that mDNS advertises with this cluster's id,
/// before it may count as a member. The nonce makes the <see cref="MemberProof"/> fresh.
/// </summary>
[MessagePackObject]
public sealed record MemberProbe(
    [property: Key(0)] string FromId,
    [property: Key(1)] byte[] Nonce) : IMessage
{
    /// <summary>Nonce length in bytes.</summary>
    public const int NonceLength = 16;

    /// <inheritdoc />
    public bool IsValid() => WireFormat.IsNodeId(FromId) && Nonce is { Length: NonceLength };
}
