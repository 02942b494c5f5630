namespace PeerPatch.Protocol.Status;

/// <summary>
/// GET /v1/history: a node's cumulative traffic counters sampled at wall-clock multiples of
/// <see cref="IntervalSeconds"/>, so that samples of different nodes line up and can be summed.
/// </summary>
/// <param name="At">Unix seconds, a multiple of <see cref="IntervalSeconds"/>.</param>
public sealed record HistorySample(long At, long InternetBytes, long LanBytesFetched, long LanBytesServed)
{
    public const int IntervalSeconds = 10;
}
