namespace PeerPatch.Node.Transfer;

/// <summary>
/// Paces reads of a download to its <see cref="RateAllowance"/>: each read takes a twentieth of a second's worth (at
/// least 4 KiB, but never more than a second's worth), and the next read waits until the bytes so far fit the rate (no
/// credit is saved up while idle, so there is no burst after a pause). The rate may change during the download, also
/// during a wait: the wait is measured again at the rate in force every <see cref="WaitSlice"/>, so a share that grows
/// at a renewal is used at once rather than after a wait priced at the old one. 0 reads unpaced. Waits use the
/// injected clock.
/// </summary>
internal sealed class RateLimitedStream(Stream inner, RateAllowance allowance, TimeProvider time) : Stream
{
    private const int MinChunk = 4096;

    /// <summary>The longest single sleep before the rate is read again.</summary>
    internal static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(250);

    /// <summary>A wait shorter than this is not slept (a sub-millisecond delay may complete at once, and the loop would spin).</summary>
    private static readonly TimeSpan MinWait = TimeSpan.FromMilliseconds(1);

    private long _startTicks = time.GetTimestamp();
    private long _owed; // bytes of the last read, paid for from _startTicks on

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var rate = allowance.BytesPerSecond;
        if (rate <= 0)
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        long due;
        while (true)
        {
            due = _startTicks + (long)(_owed * (double)time.TimestampFrequency / rate);
            var wait = time.GetElapsedTime(time.GetTimestamp(), due);
            if (wait < MinWait)
            {
                break;
            }

            await Task.Delay(wait < WaitSlice ? wait : WaitSlice, time, cancellationToken).ConfigureAwait(false);
            if ((rate = allowance.BytesPerSecond) <= 0)
            {
                _owed = 0;
                return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
        }

        var chunk = (int)Math.Clamp(rate / 20, Math.Min(MinChunk, rate), int.MaxValue);
        var read = await inner.ReadAsync(buffer.Length > chunk ? buffer[..chunk] : buffer, cancellationToken).ConfigureAwait(false);
        _startTicks = Math.Max(due, time.GetTimestamp() - (long)(time.TimestampFrequency * 0.05)); // at most 50 ms of idle credit
        _owed = read;
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
