using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>
/// Every message body. Union keys are part of the wire contract: never reuse or renumber one.
/// </summary>
[Union(0, typeof(Hello))]
[Union(1, typeof(HelloAck))]
[Union(2, typeof(Lookup))]
[Union(3, typeof(LookupResult))]
[Union(4, typeof(ClaimRenew))]
[Union(5, typeof(ClaimRelease))]
[Union(6, typeof(PushDone))]
[Union(7, typeof(Ack))]
[Union(8, typeof(ErrorReply))]
[Union(9, typeof(Heartbeat))]
[Union(10, typeof(MemberProbe))]
[Union(11, typeof(MemberProof))]
public interface IMessage
{
    /// <summary>True when every field is within <see cref="ProtocolLimits"/> and well formed.</summary>
    bool IsValid();
}
