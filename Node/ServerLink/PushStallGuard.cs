namespace PeerPatch.Node.ServerLink;

/// <summary>
/// Bounds how long one push (a PUT of a blob to the server) waits on the server: armed while the request is sent, a
/// chunk of the body is written or flushed, and from the body's end to the answer; disarmed while the body waits for
/// its source (a cut-through push follows the download, which has bounds of its own). Left armed for the bound, it
/// cancels <see cref="Token"/>, which ends the request. HttpClient has no such bound: a PUT to a server that stopped
/// reading (frozen, hung) blocks once the socket buffers fill, and one whose body is all sent waits for the answer, both
/// until the pass's deadline, hours away, with the verified patch not applied meanwhile.
/// </summary>
internal sealed class PushStallGuard : IDisposable
{
    private readonly CancellationTokenSource _stalled;
    private readonly Lock _lock = new(); // the body may still be sent in the background while the request is disposed
    private bool _disposed;

    public PushStallGuard(TimeSpan bound, TimeProvider time)
    {
        Bound = bound;
        _stalled = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
    }

    public TimeSpan Bound { get; }

    /// <summary>Cancelled when the guard was left armed for <see cref="Bound"/>.</summary>
    public CancellationToken Token => _stalled.Token;

    public bool Fired => _stalled.IsCancellationRequested;

    /// <summary>The push now waits on the server: from now on it has <see cref="Bound"/> to make progress.</summary>
    public void Arm() => Change(Bound);

    /// <summary>The push waits on its source, not on the server.</summary>
    public void Disarm() => Change(Timeout.InfiniteTimeSpan);

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _stalled.Dispose();
        }
    }

    private void Change(TimeSpan delay)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _stalled.CancelAfter(delay); // no effect once fired
            }
        }
    }
}
