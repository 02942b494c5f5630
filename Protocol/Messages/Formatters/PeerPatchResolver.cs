using System.Collections.Frozen;
using MessagePack;
using MessagePack.Formatters;

namespace PeerPatch.Protocol.Messages.Formatters;

/// <summary>
/// The one resolver of the LAN protocol: a hand-written formatter for every type that crosses the wire, and nothing
/// else (any other type has no formatter, so MessagePack throws <see cref="FormatterNotRegisteredException"/>).
/// </summary>
/// <remarks>
/// Why hand-written: MessagePack's standard resolver builds formatters at run time with Reflection.Emit, which Native
/// AOT cannot run (FormatterNotRegisteredException / PlatformNotSupportedException). The usual answer, generated
/// formatters (mpc, or MessagePack 3.x's source generator), is not available here: mpc is not served by the package
/// registry, and 3.x restores only with its analyzer forced down to 2.5.x, which drops the generator
/// (docs: FIELD-NOTES, "Native AOT"). So these formatters are the code a generator would emit, written against
/// MessagePackWriter / MessagePackReader, and FormatterIdentityTests proves them byte-identical with the
/// attribute-driven standard resolver under JIT. The [MessagePackObject]/[Key]/[Union] attributes stay on the
/// records: they are the contract these formatters follow and that the test checks them against.
/// </remarks>
internal sealed class PeerPatchResolver : IFormatterResolver
{
    public static readonly PeerPatchResolver Instance = new();

    /// <summary>Every formatter, by the type it serializes.</summary>
    internal static FrozenDictionary<Type, IMessagePackFormatter> Formatters { get; } = new Dictionary<Type, IMessagePackFormatter>
    {
        [typeof(Envelope)] = EnvelopeFormatter.Instance,
        [typeof(IMessage)] = MessageUnionFormatter.Instance,
        [typeof(Hello)] = HelloFormatter.Instance,
        [typeof(HelloAck)] = HelloAckFormatter.Instance,
        [typeof(Lookup)] = LookupFormatter.Instance,
        [typeof(LookupResult)] = LookupResultFormatter.Instance,
        [typeof(PeerSource)] = PeerSourceFormatter.Instance,
        [typeof(PeerSource[])] = PeerSourceArrayFormatter.Instance,
        [typeof(ClaimRenew)] = ClaimRenewFormatter.Instance,
        [typeof(ClaimRelease)] = ClaimReleaseFormatter.Instance,
        [typeof(PushDone)] = PushDoneFormatter.Instance,
        [typeof(Ack)] = AckFormatter.Instance,
        [typeof(ErrorReply)] = ErrorReplyFormatter.Instance,
        [typeof(Heartbeat)] = HeartbeatFormatter.Instance,
        [typeof(MemberProbe)] = MemberProbeFormatter.Instance,
        [typeof(MemberProof)] = MemberProofFormatter.Instance,
    }.ToFrozenDictionary();

    private PeerPatchResolver()
    {
    }

    public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

    private static class Cache<T>
    {
        public static readonly IMessagePackFormatter<T>? Formatter =
            Formatters.TryGetValue(typeof(T), out var formatter) ? (IMessagePackFormatter<T>)formatter : null;
    }
}
