namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>
/// A body that sends its first <c>pauseAt</c> bytes, then waits (<see cref="Paused"/> completes) until
/// <see cref="Resume"/> or until its reader gives up: a download in progress, or a stalled server if never resumed.
/// </summary>
internal sealed class PausingStream(byte[] data, int pauseAt) : Stream
{
    private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _resumed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _position;

    public Task Paused => _paused.Task;

    public void Resume() => _resumed.TrySetResult();

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position == pauseAt && !_resumed.Task.IsCompleted)
        {
            _paused.TrySetResult();
            await _resumed.Task.WaitAsync(cancellationToken);
        }

        var end = _position < pauseAt ? pauseAt : data.Length;
        var n = Math.Min(buffer.Length, end - _position);
        data.AsMemory(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
