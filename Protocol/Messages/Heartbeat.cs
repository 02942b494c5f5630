using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>
/// The server is alive (sent every few hundred milliseconds to every member, one-way, correlation id 0).
/// Carries what an election compares: term, priority and start time; and what the LAN spent of its internet quota today
/// by the server's count, so that the follower elected next goes on from there instead of from its own older count.
/// </summary>
/// <param name="InternetDay">
/// The server's local day of <paramref name="InternetUsed"/> (<see cref="System.DateOnly.DayNumber"/>); 0: not sent (a
/// server of an earlier version skips nothing and sends neither key).
/// </param>
/// <param name="InternetUsed">
/// Bytes of that day's internet quota the server counts as spent: downloads done, not those under way (a server elected
/// next charges those when their holders renew their claims with it). At most <see cref="MaxInternetUsed"/>.
/// </param>
[MessagePackObject]
public sealed record Heartbeat(
    [property: Key(0)] string ServerId,
    [property: Key(1)] long Term,
    [property: Key(2)] int Priority,
    [property: Key(3)] long Since,
    [property: Key(4)] int HttpPort,
    [property: Key(5)] int InternetDay = 0,
    [property: Key(6)] long InternetUsed = 0) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() =>
        WireFormat.IsNodeId(ServerId) && Term >= 0 && Since >= 0 && HttpPort is > 0 and <= 65535
        && InternetDay >= 0 && InternetDay <= System.DateOnly.MaxValue.DayNumber && InternetUsed is >= 0 and <= MaxInternetUsed;

    /// <summary>
    /// The largest count a heartbeat carries (1 PiB: a day at 10 Gbit/s is about 0.1 PiB). A server never sends more;
    /// a heartbeat with more is not a heartbeat (a forged count near <see cref="long.MaxValue"/> would overflow the
    /// quota's sums on the next server).
    /// </summary>
    public const long MaxInternetUsed = 1L << 50;
}
