using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace PeerPatch.Storage;

/// <summary>
/// One blob written out of order, piece by piece at their offsets (a multi-source fetch): the temp file is sized up
/// front, pieces are written with positional writes from any thread, and <see cref="CommitAsync"/> hashes the whole
/// file once more (the caller's piece checks prove nothing about the whole), then fsyncs and renames into place like
/// <see cref="BlobWriter"/>. Disposing without a successful commit deletes the temp file. Memory use is one read buffer
/// at commit, whatever the blob's size.
/// </summary>
public sealed class PieceBlobWriter : IAsyncDisposable
{
    private readonly BlobStore _store;
    private SafeFileHandle? _file;
    private bool _finished;

    internal PieceBlobWriter(BlobStore store, string expectedSha256, long size)
    {
        _store = store;
        ExpectedSha256 = expectedSha256;
        Size = size;
        TempPath = store.NewTempPath();
        EnsureRoom();
        _file = File.OpenHandle(TempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous, preallocationSize: size);
        if (size > 0)
        {
            RandomAccess.SetLength(_file, size);
        }
    }

    /// <summary>The hash the whole file must have.</summary>
    public string ExpectedSha256 { get; }

    /// <summary>The blob's size: the file has it from the start.</summary>
    public long Size { get; }

    /// <summary>The temp file (readers may open it shared; it is renamed at commit and deleted on failure).</summary>
    public string TempPath { get; }

    /// <summary>The patch row to record with the blob, if any (written in the same transaction).</summary>
    public PatchRecord? Patch { get; set; }

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>; thread-safe for distinct ranges.</summary>
    /// <exception cref="IOException">The disk refused the write.</exception>
    public ValueTask WriteAtAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var file = _file;
        ObjectDisposedException.ThrowIf(_finished || file is null, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset + data.Length > Size)
        {
            throw new ArgumentOutOfRangeException(nameof(data), $"{data.Length} bytes at {offset} go past the blob's {Size} bytes");
        }

        return RandomAccess.WriteAsync(file, data, offset, ct);
    }

    /// <summary>Hashes the whole file; when it matches, makes the blob durable and visible.</summary>
    public async Task<BlobWriteResult> CommitAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_finished || _file is null, this);
        string actual;
        try
        {
            actual = await HashFileAsync(_file, ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            return Finish(BlobWriteStatus.StorageFailed, null, $"reading the blob back failed: {e.Message}");
        }

        if (actual != ExpectedSha256)
        {
            return Finish(BlobWriteStatus.HashMismatch, actual, $"bytes hash to {actual}, expected {ExpectedSha256}");
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
            RandomAccess.FlushToDisk(_file);
            _file.Dispose();
            _file = null;
            _store.Commit(TempPath, ExpectedSha256, Size, Patch);
        }
        catch (IOException e)
        {
            return Finish(BlobWriteStatus.StorageFailed, actual, $"making the blob durable failed: {e.Message}");
        }

        _finished = true;
        return new BlobWriteResult(BlobWriteStatus.Stored, Size, actual, null);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (!_finished)
        {
            Finish(BlobWriteStatus.SourceFailed, null, "abandoned");
        }

        return ValueTask.CompletedTask;
    }

    private async Task<string> HashFileAsync(SafeFileHandle file, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(_store.Options.BufferBytes);
        try
        {
            for (long offset = 0; offset < Size;)
            {
                var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, (int)Math.Min(_store.Options.BufferBytes, Size - offset)), offset, ct).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"the temp file ended at {offset} of {Size} bytes");
                }

                hash.AppendData(buffer, 0, read);
                offset += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private void EnsureRoom()
    {
        if (Size <= 0)
        {
            return;
        }

        var (free, reserve) = _store.Options.RoomOn(_store.TempDirectory);
        if (free - Size < reserve)
        {
            throw new IOException($"not enough disk space for {Size} bytes ({free} free, {reserve} kept in reserve)");
        }
    }

    private BlobWriteResult Finish(BlobWriteStatus status, string? actual, string message)
    {
        _file?.Dispose();
        _file = null;
        _finished = true;
        try
        {
            File.Delete(TempPath);
        }
        catch (IOException)
        {
            // Left for the start-up pass.
        }

        return new BlobWriteResult(status, Size, actual, message);
    }
}
