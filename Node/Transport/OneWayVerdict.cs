using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Transport;

/// <summary>
/// What <see cref="OneWayDatagrams.Check"/> made of a datagram: an accepted <see cref="Message"/>; or refused as
/// unauthenticated, for another node or replayed (<see cref="Refusal"/>); or not a message at all (<see cref="Error"/>).
/// </summary>
internal readonly record struct OneWayVerdict(IMessage? Message, string? Refusal, DecodeError Error, string? Detail)
{
    public static OneWayVerdict Accepted(IMessage message) => new(message, null, DecodeError.None, null);

    public static OneWayVerdict Refused(string reason) => new(null, reason, DecodeError.None, null);

    public static OneWayVerdict Undecodable(DecodeError error, string detail) => new(null, null, error, detail);
}
