namespace PeerPatch.Protocol.Security;

/// <summary>
/// Accepts each sequence number at most once (RFC 4303 §3.4.3's sliding window, 64 wide): a number above the
/// highest seen moves the window; one inside it is accepted once; one below it is refused. Reliable-unordered
/// delivery reorders only within a few packets, far inside the window. Thread-safe.
/// </summary>
public sealed class ReplayWindow
{
    private const int Width = 64;
    private readonly Lock _lock = new();
    private ulong _highest;
    private ulong _seen; // bit i: _highest - i was accepted

    /// <summary>The highest sequence accepted so far (0: none).</summary>
    public ulong Highest
    {
        get
        {
            lock (_lock)
            {
                return _highest;
            }
        }
    }

    /// <summary>True once per sequence number in the window; false for a repeat, for 0 and for numbers that fell out.</summary>
    public bool TryAccept(ulong sequence)
    {
        if (sequence == 0)
        {
            return false;
        }

        lock (_lock)
        {
            if (sequence > _highest)
            {
                var shift = sequence - _highest;
                _seen = shift >= Width ? 1UL : (_seen << (int)shift) | 1UL;
                _highest = sequence;
                return true;
            }

            var offset = _highest - sequence;
            if (offset >= Width)
            {
                return false;
            }

            var bit = 1UL << (int)offset;
            if ((_seen & bit) != 0)
            {
                return false;
            }

            _seen |= bit;
            return true;
        }
    }
}
