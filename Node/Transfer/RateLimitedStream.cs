namespace PeerPatch.Node.Transfer;

/// <summary>
/// Paces reads of a download to its <see cref="RateAllowance"/>: each read takes at most a twentieth of a second's
/// worth, and the next read waits until the bytes so far fit the rate (no credit is saved up while idle, so there is
/// no burst after a pause). The rate may change during the download; 0 reads unpaced. Waits use the injected clock.
/// </summary>
internal sealed class RateLimitedStream(Stream inner, RateAllowance allowance, TimeProvider time) : Stream
{
    private const int MinChunk = 4096;
    private long _nextTicks = time.GetTimestamp();

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

        var wait = time.GetElapsedTime(time.GetTimestamp(), _nextTicks);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
        }

        var chunk = (int)Math.Clamp(rate / 20, MinChunk, int.MaxValue);
        var read = await inner.ReadAsync(buffer.Length > chunk ? buffer[..chunk] : buffer, cancellationToken).ConfigureAwait(false);
        var now = time.GetTimestamp();
        var start = Math.Max(_nextTicks, now - (long)(time.TimestampFrequency * 0.05)); // at most 50 ms of idle credit
        _nextTicks = start + (long)(read * (double)time.TimestampFrequency / rate);
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
