using System.Buffers;
using System.Security.Cryptography;

namespace PeerPatch.Storage;

/// <summary>
/// One blob being written: bytes go to a temp file while SHA-256 is computed. <see cref="CommitAsync"/>
/// checks hash and size, fsyncs and renames into place; disposing without a successful commit deletes the
/// temp file. The piece hashes (<see cref="PieceHasher"/>, <see cref="BlobStoreOptions.PieceSize"/>) are computed in the
/// same pass and recorded with the blob. Memory use is one copy buffer, whatever the blob's size. A write with a declared size is live while
/// it runs: <see cref="BlobStore.OpenLive"/> reads it as it grows (cut-through), the last byte only after the commit.
/// </summary>
public sealed class BlobWriter : IAsyncDisposable
{
    private readonly BlobStore _store;
    private readonly long _maxBytes;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly PieceHasher _pieces;
    private readonly string _tempPath;
    private FileStream? _file;
    private LiveBlob? _live;
    private bool _overflow;
    private bool _finished;

    internal BlobWriter(BlobStore store, string expectedSha256, long expectedSize, long maxBytes)
    {
        _store = store;
        ExpectedSha256 = expectedSha256;
        ExpectedSize = expectedSize;
        _maxBytes = maxBytes;
        _tempPath = store.NewTempPath();
        _pieces = new PieceHasher(store.Options.PieceSize);
    }

    /// <summary>The hash the bytes must have.</summary>
    public string ExpectedSha256 { get; }

    /// <summary>The declared size, or -1.</summary>
    public long ExpectedSize { get; }

    /// <summary>Bytes accepted so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>The patch row to record with the blob, if any (written in the same transaction).</summary>
    public PatchRecord? Patch { get; set; }

    /// <summary>Appends bytes. Returns false (and keeps nothing more) once the limit is exceeded.</summary>
    /// <exception cref="IOException">The disk refused the write.</exception>
    public async ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (_overflow || BytesWritten + data.Length > _maxBytes)
        {
            _overflow = true;
            return false;
        }

        if (_file is null)
        {
            EnsureRoom();
            _file = new FileStream(_tempPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.Read | FileShare.Delete, // live readers follow it; the rename keeps their handles valid
                Options = FileOptions.Asynchronous,
                BufferSize = 0,
                PreallocationSize = ExpectedSize > 0 ? ExpectedSize : 0,
            });
            _live = ExpectedSize > 0 ? _store.StartLive(ExpectedSha256, ExpectedSize, _tempPath) : null;
        }

        _hash.AppendData(data.Span);
        _pieces.Append(data.Span);
        await _file.WriteAsync(data, ct).ConfigureAwait(false);
        BytesWritten += data.Length;
        _live?.Advance(BytesWritten);
        return true;
    }

    /// <summary>Reads <paramref name="source"/> to its end and commits.</summary>
    public async Task<BlobWriteResult> CopyFromAsync(Stream source, CancellationToken ct, IProgress<long>? progress = null)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_store.Options.BufferBytes);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await source.ReadAsync(buffer.AsMemory(0, _store.Options.BufferBytes), ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException
                                           || e is OperationCanceledException && !ct.IsCancellationRequested)
                {
                    return Fail(BlobWriteStatus.SourceFailed, $"reading the source failed after {BytesWritten} bytes: {e.Message}");
                }

                if (read == 0)
                {
                    break;
                }

                try
                {
                    if (!await WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false))
                    {
                        return Fail(BlobWriteStatus.TooLarge, $"more than {_maxBytes} bytes");
                    }
                }
                catch (IOException e)
                {
                    return Fail(BlobWriteStatus.StorageFailed, $"writing the blob failed after {BytesWritten} bytes: {e.Message}");
                }

                progress?.Report(BytesWritten);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return await CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Verifies and, when the bytes are right, makes the blob durable and visible.</summary>
    public async Task<BlobWriteResult> CommitAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (_overflow)
        {
            return Fail(BlobWriteStatus.TooLarge, $"more than {_maxBytes} bytes");
        }

        var actual = Convert.ToHexStringLower(_hash.GetHashAndReset());
        if (ExpectedSize >= 0 && BytesWritten != ExpectedSize)
        {
            return Fail(BlobWriteStatus.SizeMismatch, $"got {BytesWritten} bytes, expected {ExpectedSize}", actual);
        }

        if (actual != ExpectedSha256)
        {
            return Fail(BlobWriteStatus.HashMismatch, $"bytes hash to {actual}, expected {ExpectedSha256}", actual);
        }

        if (_store.Contains(ExpectedSha256))
        {
            if (Patch is not null)
            {
                _store.RecordPatch(Patch);
            }

            return Finish(BlobWriteStatus.AlreadyPresent, actual, "already stored");
        }

        try
        {
            if (_file is null)
            {
                // Zero-byte blob: nothing was written yet.
                _file = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            }

            await _file.FlushAsync(ct).ConfigureAwait(false);
            _file.Flush(flushToDisk: true);
            await _file.DisposeAsync().ConfigureAwait(false);
            _file = null;
            _store.Commit(_tempPath, ExpectedSha256, BytesWritten, Patch, _pieces.Finish());
        }
        catch (IOException e)
        {
            return Fail(BlobWriteStatus.StorageFailed, $"making the blob durable failed: {e.Message}", actual);
        }

        EndLive(committed: true, string.Empty);
        _finished = true;
        return new BlobWriteResult(BlobWriteStatus.Stored, BytesWritten, actual, null);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync().ConfigureAwait(false);
            _file = null;
        }

        _finished = true;
        _hash.Dispose();
        _pieces.Dispose();
        EndLive(committed: false, "the write was abandoned");
        TryDeleteTemp();
    }

    private void EnsureRoom()
    {
        if (ExpectedSize <= 0)
        {
            return;
        }

        var (free, reserve) = _store.Options.RoomOn(_store.TempDirectory);
        if (free - ExpectedSize < reserve)
        {
            throw new IOException($"not enough disk space for {ExpectedSize} bytes ({free} free, {reserve} kept in reserve)");
        }
    }

    private BlobWriteResult Fail(BlobWriteStatus status, string message, string? actual = null) => Finish(status, actual, message);

    private BlobWriteResult Finish(BlobWriteStatus status, string? actual, string message)
    {
        _file?.Dispose();
        _file = null;
        _finished = true;
        EndLive(committed: status == BlobWriteStatus.AlreadyPresent, message);
        TryDeleteTemp();
        return new BlobWriteResult(status, BytesWritten, actual, message);
    }

    private void EndLive(bool committed, string failure)
    {
        if (_live is { } live)
        {
            _live = null;
            _store.EndLive(live, committed, failure);
        }
    }

    private void TryDeleteTemp()
    {
        try
        {
            File.Delete(_tempPath);
        }
        catch (IOException)
        {
            // Left for the start-up pass.
        }
    }
}
