namespace PeerPatch.Node.Transport;

/// <summary>
/// The pace of LiteNetLib's update ticks on the pump (<see cref="TickPacer"/>): fast while connected frames move, slow
/// when the node is idle. Every connected send and receive, connection request and connect attempt counts as activity.
/// </summary>
internal sealed partial class LanTransport
{
    private readonly TickPacer _pacer;
    private readonly Lock _paceLock = new();
    private readonly long _pacerOrigin;
    private ITimer? _housekeeping;

    /// <summary>LiteNetLib's current tick period in milliseconds (tests and diagnostics).</summary>
    internal int TickMilliseconds => _net.UpdateTime;

    /// <summary>Bytes of every UDP datagram this transport received, once <see cref="CountPackets"/> ran (tests).</summary>
    internal long BytesReceived => _net.Statistics.BytesReceived;

    /// <summary>Turns on LiteNetLib's packet statistics (off by default: a counter update per datagram).</summary>
    internal void CountPackets() => _net.EnableStatistics = true;

    /// <summary>A connected frame or connection moved: tick fast, and at once if this ends a quiet spell.</summary>
    private void Active()
    {
        if (_pacer.Touch(_time.GetElapsedTime(_pacerOrigin)))
        {
            ApplyPace();
            _net.Flush();
        }
    }

    /// <summary>Once a second: the keyed handshake sweep, and the slow pace once nothing moved for a while.</summary>
    private void Housekeeping()
    {
        if (_stopped != 0)
        {
            return;
        }

        if (_key is not null)
        {
            SweepUnauthenticated();
        }

        if (_pacer.TryQuiet(_time.GetElapsedTime(_pacerOrigin)))
        {
            ApplyPace();
        }
    }

    /// <summary>Writes the pacer's current state (read under the lock, so the last writer writes the latest state).</summary>
    private void ApplyPace()
    {
        lock (_paceLock)
        {
            _net.UpdateTime = _pacer.Quiet ? TickPacer.QuietMilliseconds : TickPacer.ActiveMilliseconds;
        }
    }
}
