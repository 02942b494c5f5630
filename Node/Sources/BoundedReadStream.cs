namespace PeerPatch.Node.Sources;

/// <summary>
/// Reads at most <c>max</c> bytes of <c>inner</c>, then ends as if the input had ended, and tells whether there was
/// more (<see cref="Exceeded"/>): a child process's output read without trusting its length.
/// </summary>
internal sealed class BoundedReadStream(Stream inner, long max) : Stream
{
    private long _remaining = max;

    /// <summary>True once the input went on past the bound (at least one byte was left unread).</summary>
    public bool Exceeded { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty || Exceeded)
        {
            return 0;
        }

        if (_remaining == 0)
        {
            // At the bound: one more byte tells a real end from a longer input.
            Exceeded = await inner.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) > 0;
            return 0;
        }

        var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
        _remaining -= n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty || Exceeded)
        {
            return 0;
        }

        if (_remaining == 0)
        {
            Span<byte> one = stackalloc byte[1];
            Exceeded = inner.Read(one) > 0;
            return 0;
        }

        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
