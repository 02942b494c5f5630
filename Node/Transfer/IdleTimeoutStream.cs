namespace PeerPatch.Node.Transfer;

/// <summary>
/// Wraps a network stream so that waiting for its data is bounded: each window of <c>window</c> spent waiting inside
/// reads (time the consumer spends elsewhere does not count) must bring at least <c>minBytes</c>, or the read fails
/// with <see cref="TimeoutException"/>. With one byte (the default) that is a stall timeout: a slow transfer may go
/// on, a stalled one may not. With more it is also a minimum rate, so a trickle of a byte every few seconds cannot
/// keep a transfer alive forever. <paramref name="onTimeout"/> hears of each timeout before it is thrown.
/// </summary>
internal sealed class IdleTimeoutStream(Stream inner, TimeSpan window, TimeProvider time, long minBytes = 1, Action<TimeoutException>? onTimeout = null) : Stream
{
    private readonly long _minBytes = Math.Max(1, minBytes);
    private TimeSpan _waited;
    private long _bytes;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var timer = new CancellationTokenSource(window - _waited > TimeSpan.Zero ? window - _waited : TimeSpan.FromMilliseconds(1), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var started = time.GetTimestamp();
        int read;
        try
        {
            read = await inner.ReadAsync(buffer, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw Timeout();
        }
        finally
        {
            _waited += time.GetElapsedTime(started);
        }

        _bytes += read;
        if (read == 0)
        {
            return 0;
        }

        if (_bytes >= _minBytes)
        {
            (_waited, _bytes) = (TimeSpan.Zero, 0); // this window is satisfied: the next one starts now
        }
        else if (_waited >= window)
        {
            throw Timeout();
        }

        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

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

    private TimeoutException Timeout()
    {
        var e = new TimeoutException(_bytes == 0
            ? $"no data for {window.TotalSeconds:0.###} s"
            : $"only {_bytes} bytes in {window.TotalSeconds:0.###} s of waiting, less than the {_minBytes} required");
        onTimeout?.Invoke(e);
        return e;
    }
}
