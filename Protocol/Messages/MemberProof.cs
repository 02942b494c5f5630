using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>
/// The answer to <see cref="MemberProbe"/> (sealed with the cluster key): the node's id and everything an election
/// compares, bound to the probe's nonce. A member is believed only as this proof describes it.
/// </summary>
[MessagePackObject]
public sealed record MemberProof(
    [property: Key(0)] string NodeId,
    [property: Key(1)] byte[] Nonce,
    [property: Key(2)] NodeRole Role,
    [property: Key(3)] long Term,
    [property: Key(4)] int Priority,
    [property: Key(5)] long Since,
    [property: Key(6)] int HttpPort) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() =>
        WireFormat.IsNodeId(NodeId) && Nonce is { Length: MemberProbe.NonceLength } && Enum.IsDefined(Role)
        && Term >= 0 && Since >= 0 && HttpPort is > 0 and <= 65535;
}
