using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// Tells the sysadmin when the election grew patient: the followed server's heartbeat timeout stretched beyond the
/// quiet-LAN value (once per stretch episode, Information; back to it at Debug), or this node itself did not run for
/// a while and that time was not held against its server (once per server followed, Information). Fed after every
/// call into the <see cref="Elector"/>, under its lock.
/// </summary>
internal sealed partial class ElectorReport(ILogger logger)
{
    private string? _server;
    private bool _stretched;
    private bool _lateReported;
    private long _lateGaps;

    public void Report(Elector elector)
    {
        if (elector.ServerId != _server)
        {
            _server = elector.ServerId;
            _stretched = false;
            _lateReported = false;
        }

        var timeout = elector.ServerTimeout;
        if (timeout.Stretched != _stretched && _server is not null && !elector.IsServer)
        {
            _stretched = timeout.Stretched;
            if (_stretched)
            {
                Log.TimeoutStretched(logger, _server, (long)timeout.Timeout.TotalMilliseconds, (long)timeout.Mean.TotalMilliseconds,
                    (long)timeout.Longest.TotalMilliseconds, timeout.Count, (long)timeout.Floor.TotalMilliseconds);
            }
            else
            {
                Log.TimeoutRestored(logger, _server, (long)timeout.Timeout.TotalMilliseconds);
            }
        }

        var clock = elector.Clock;
        if (clock.LateGaps != _lateGaps)
        {
            _lateGaps = clock.LateGaps;
            if (!_lateReported)
            {
                _lateReported = true;
                Log.LateTick(logger, (long)clock.LastLateGap.TotalMilliseconds, (long)clock.MaxCountedGap.TotalMilliseconds);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 708, Level = LogLevel.Information, Message = "heartbeats of server {PeerId} arrive irregularly (mean gap {MeanMs} ms, longest {LongestMs} ms, of the last {Gaps}): it is suspected only after {TimeoutMs} ms of silence instead of {FloorMs} ms")]
        public static partial void TimeoutStretched(ILogger logger, string peerId, long timeoutMs, long meanMs, long longestMs, int gaps, long floorMs);

        [LoggerMessage(EventId = 709, Level = LogLevel.Debug, Message = "heartbeats of server {PeerId} arrive regularly again: it is suspected after {TimeoutMs} ms of silence")]
        public static partial void TimeoutRestored(ILogger logger, string peerId, long timeoutMs);

        [LoggerMessage(EventId = 712, Level = LogLevel.Information, Message = "this node did not run for {GapMs} ms (an overloaded host?): election timeouts count only {CountedMs} ms of such a gap, so its server's silence meanwhile is not held against it (reported once per server followed)")]
        public static partial void LateTick(ILogger logger, long gapMs, long countedMs);
    }
}
