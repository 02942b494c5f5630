using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// Tells the sysadmin when the election grew patient: the followed server's heartbeat timeout stretched to at least
/// <see cref="ReportedStretch"/> times the quiet-LAN value (once per episode, Information; back below it at Debug: a
/// lost heartbeat now and then stretches it a little and is not worth a line), or this follower itself did not run
/// for a while and that time was not held against its server (once per server followed, Information; never on the
/// server, which holds nothing against anyone). Fed after every call into the <see cref="Elector"/>, under its lock.
/// </summary>
internal sealed partial class ElectorReport(ILogger logger)
{
    /// <summary>A timeout this many times the quiet-LAN one is reported: 1.5 (a single lost heartbeat gives about 1.03).</summary>
    public const double ReportedStretch = 1.5;

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
        var stretched = timeout.Timeout >= ReportedStretch * timeout.Floor;
        if (stretched != _stretched && _server is not null && !elector.IsServer)
        {
            _stretched = stretched;
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
            if (!_lateReported && !elector.IsServer)
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

        [LoggerMessage(EventId = 709, Level = LogLevel.Debug, Message = "heartbeats of server {PeerId} arrive more regularly again: it is suspected after {TimeoutMs} ms of silence")]
        public static partial void TimeoutRestored(ILogger logger, string peerId, long timeoutMs);

        [LoggerMessage(EventId = 712, Level = LogLevel.Information, Message = "this node did not run for {GapMs} ms (an overloaded host?): election timeouts count only {CountedMs} ms of such a gap, so its server's silence meanwhile is not held against it (reported once per server followed)")]
        public static partial void LateTick(ILogger logger, long gapMs, long countedMs);
    }
}
