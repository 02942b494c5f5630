using Microsoft.Win32.SafeHandles;

namespace PeerPatch.Storage;

/// <summary>
/// Reads a <see cref="LiveBlob"/> from its temp file as the writer fills it: a read past the bytes written waits for
/// more; the last byte is released only after the writer committed (verified) the blob; a failed write throws
/// <see cref="IOException"/>. The open handle stays valid when the temp file is renamed into place.
/// </summary>
public sealed class LiveBlobStream : Stream
{
    private readonly LiveBlob _blob;
    private readonly SafeFileHandle _handle;
    private long _position;

    private LiveBlobStream(LiveBlob blob, SafeFileHandle handle)
    {
        _blob = blob;
        _handle = handle;
    }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => _blob.Size;

    /// <inheritdoc />
    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            var changed = _blob.Changed;
            if (_blob.Failed)
            {
                throw new IOException($"the write of blob {_blob.Sha256} failed after {_blob.Written} bytes: {_blob.Failure}");
            }

            // Before the commit, the last byte stays back: a reader never completes with unverified bytes.
            var limit = _blob.Committed ? _blob.Size : Math.Min(_blob.Written, _blob.Size - 1);
            if (_position < limit)
            {
                var want = (int)Math.Min(buffer.Length, limit - _position);
                var read = await RandomAccess.ReadAsync(_handle, buffer[..want], _position, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"blob {_blob.Sha256} ended at {_position} of {_blob.Size} bytes");
                }

                _position += read;
                return read;
            }

            if (_blob.Committed && _position >= _blob.Size)
            {
                return 0;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    internal static LiveBlobStream? Open(LiveBlob blob)
    {
        try
        {
            var handle = File.OpenHandle(blob.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return new LiveBlobStream(blob, handle);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null; // renamed into place (or removed) just now: the caller looks in the store again
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _handle.Dispose();
        }

        base.Dispose(disposing);
    }
}
