using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace PeerPatch.Storage;

/// <summary>
/// Content-addressed blob store: blobs/ab/abcdef... named by SHA-256. A blob becomes visible only after its
/// bytes were hashed while streaming to tmp/, matched the expected hash, were fsynced and renamed into place
/// (and the directory fsynced). The database row is written after the rename and before the write is
/// acknowledged, so kill -9 at any point leaves either nothing or a complete, recorded blob.
/// </summary>
public sealed class BlobStore
{
    private static readonly TimeSpan TouchPersistInterval = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a blob used (trim, <see cref="TrimToCapacity"/>) or marked in use (every eviction,
    /// <see cref="MarkInUse"/>) is spared: 10 minutes, a pass's time from verifying a patch to applying it.
    /// </summary>
    public static readonly TimeSpan InUseSpare = TimeSpan.FromMinutes(10);

    private readonly PatchDatabase _db;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, BlobEntry> _blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Fingerprint> _verified = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LiveBlob> _live = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Sha256, string User), DateTimeOffset> _inUse = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _evictLock = new();
    private long _totalBytes;
    private int _rowsLeft; // rows a full disk kept from being deleted (RecoverAtStartup reports them)
    private long _lastFreeBytes;

    /// <summary>Creates a store rooted at <paramref name="root"/>; call <see cref="RecoverAtStartup"/> before use.</summary>
    public BlobStore(string root, PatchDatabase db, BlobStoreOptions options, TimeProvider time)
    {
        Root = Path.GetFullPath(root);
        _db = db;
        Options = options;
        _time = time;
        BlobsDirectory = Path.Combine(Root, "blobs");
        TempDirectory = Path.Combine(Root, "tmp");
        Directory.CreateDirectory(BlobsDirectory);
        Directory.CreateDirectory(TempDirectory);
    }

    /// <summary>The store's root directory.</summary>
    public string Root { get; }

    /// <summary>The settings in force.</summary>
    public BlobStoreOptions Options { get; }

    /// <summary>Where complete blobs live.</summary>
    public string BlobsDirectory { get; }

    /// <summary>Where blobs are written before they are verified.</summary>
    public string TempDirectory { get; }

    /// <summary>Bytes held.</summary>
    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    /// <summary>Blobs held.</summary>
    public int Count => _blobs.Count;

    /// <summary>
    /// The cap in force now (0 = none): <see cref="BlobStoreOptions.CapacityBytes"/> when set, otherwise
    /// <see cref="BlobStoreOptions.CapacityPercent"/> % of the disk's free space plus the bytes held, measured now
    /// (<see cref="BlobStoreOptions.CapFor"/>). A node started on a full disk thus caps its cache once the disk has
    /// room again, instead of running without a cap.
    /// </summary>
    public long CapacityBytes
    {
        get
        {
            if (Options.CapacityBytes > 0)
            {
                return Options.CapacityBytes;
            }

            return Options.CapacityPercent > 0 ? BlobStoreOptions.CapFor(FreeBytes(), TotalBytes, Options.CapacityPercent) : 0;
        }
    }

    /// <summary>Blobs evicted by the size cap since start.</summary>
    public long Evictions { get; private set; }

    /// <summary>
    /// Start-up consistency pass: removes temp files, drops records whose blob file is missing or has the wrong
    /// size, deletes blob files nobody recorded (never acknowledged), and drops patch rows without a blob.
    /// Content hashes are re-checked by <see cref="VerifyAsync"/> (scrub) and before a blob is served.
    /// </summary>
    public StartupReport RecoverAtStartup()
    {
        var temps = 0;
        foreach (var file in Directory.EnumerateFiles(TempDirectory))
        {
            File.Delete(file);
            temps++;
        }

        var dropped = 0;
        _rowsLeft = 0;
        _blobs.Clear();
        _totalBytes = 0;
        foreach (var row in _db.ListBlobs())
        {
            var path = PathFor(row.Sha256);
            var info = new FileInfo(path);
            if (!info.Exists || info.Length != row.Size)
            {
                // The file first: on a full disk it makes the room SQLite needs to delete the row. A row that still
                // stays (no room at all) is dropped at the next start; the store does not hold it meanwhile.
                if (info.Exists)
                {
                    DeleteFile(path);
                }

                if (!TryRemoveRow(row.Sha256))
                {
                    _rowsLeft++;
                }

                dropped++;
                continue;
            }

            _blobs[row.Sha256] = new BlobEntry(row.Size, row.LastAccess);
            _totalBytes += row.Size;
        }

        var orphans = 0;
        foreach (var file in Directory.EnumerateFiles(BlobsDirectory, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetFileName(file);
            if (!_blobs.ContainsKey(name) || file != PathFor(name))
            {
                DeleteFile(file);
                orphans++;
            }
        }

        int rows;
        try
        {
            rows = _db.RemovePatchesWithoutBlob();
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (PatchDatabase.IsDiskFull(e))
        {
            rows = 0; // no room to record the delete: those rows name no blob the store holds, and go at the next start
            _rowsLeft++;
        }

        // Only a fixed cap evicts at start. A share of the room evicts when a blob is stored and in the node's check a
        // minute later (TrimToCapacity, Node's CacheTrimmer), which spares the blobs a pass is using.
        EvictIfOverCapacity(keep: null, Options.CapacityBytes);
        return new StartupReport(temps, dropped, orphans, rows, _blobs.Count, TotalBytes, _rowsLeft);
    }

    /// <summary>Starts a streaming write of a blob that must hash to <paramref name="expectedSha256"/>.</summary>
    /// <param name="expectedSha256">64 lowercase hex digits.</param>
    /// <param name="expectedSize">The declared size, or -1 when unknown.</param>
    /// <param name="maxBytes">Hard limit on the bytes accepted.</param>
    public BlobWriter BeginWrite(string expectedSha256, long expectedSize, long maxBytes)
    {
        if (!IsSha256(expectedSha256))
        {
            throw new ArgumentException("not a SHA-256", nameof(expectedSha256));
        }

        return new BlobWriter(this, expectedSha256, expectedSize, expectedSize >= 0 ? Math.Min(maxBytes, expectedSize) : maxBytes);
    }

    /// <summary>
    /// Starts a write of a blob of <paramref name="size"/> bytes whose pieces arrive out of order
    /// (<see cref="PieceBlobWriter"/>); committed only when the whole file hashes to <paramref name="expectedSha256"/>.
    /// </summary>
    /// <exception cref="IOException">Not enough disk space, or the temp file could not be created.</exception>
    public PieceBlobWriter BeginPieceWrite(string expectedSha256, long size)
    {
        if (!IsSha256(expectedSha256))
        {
            throw new ArgumentException("not a SHA-256", nameof(expectedSha256));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return new PieceBlobWriter(this, expectedSha256, size);
    }

    /// <summary>Streams <paramref name="source"/> into the store as one verified blob.</summary>
    public async Task<BlobWriteResult> WriteAsync(Stream source, string expectedSha256, long expectedSize, long maxBytes, CancellationToken ct)
    {
        await using var writer = BeginWrite(expectedSha256, expectedSize, maxBytes);
        return await writer.CopyFromAsync(source, ct).ConfigureAwait(false);
    }

    /// <summary>True while a write of that blob with a declared size is under way (see <see cref="OpenLive"/>).</summary>
    public bool IsLive(string sha256) => _live.ContainsKey(sha256);

    /// <summary>
    /// Opens the blob being written under that hash for reading as it grows (<see cref="LiveBlobStream"/>); null when
    /// no such write is under way (or it has just been committed: look in the store).
    /// </summary>
    public LiveBlobStream? OpenLive(string sha256) => _live.TryGetValue(sha256, out var blob) ? LiveBlobStream.Open(blob) : null;

    /// <summary>Completes at the next change of what is held or being written (a write starts, a blob is stored).</summary>
    public Task WhenChangedAsync(TimeSpan timeout, CancellationToken ct) =>
        Volatile.Read(ref _changed).Task.WaitAsync(timeout, _time, ct).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>True when the store holds that blob.</summary>
    public bool Contains(string sha256) => _blobs.ContainsKey(sha256);

    /// <summary>The blob's size, when held.</summary>
    public bool TryGetSize(string sha256, out long size)
    {
        if (_blobs.TryGetValue(sha256, out var entry))
        {
            size = entry.Size;
            return true;
        }

        size = 0;
        return false;
    }

    /// <summary>The path of a held blob. The name is the validated hash, never caller text.</summary>
    public string PathFor(string sha256)
    {
        if (!IsSha256(sha256))
        {
            throw new ArgumentException("not a SHA-256", nameof(sha256));
        }

        return Path.Combine(BlobsDirectory, sha256[..2], sha256);
    }

    /// <summary>Opens a held blob for reading and marks it recently used; null when not held.</summary>
    public FileStream? OpenRead(string sha256)
    {
        if (!_blobs.TryGetValue(sha256, out var entry))
        {
            return null;
        }

        FileStream stream;
        try
        {
            stream = new FileStream(PathFor(sha256), new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.Read | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
                BufferSize = 0,
            });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Remove(sha256); // gone from disk: forget it everywhere, database rows included
            return null;
        }

        try
        {
            Touch(sha256, entry);
        }
        catch
        {
            stream.Dispose(); // never leave the caller's file open behind an exception it cannot dispose
            throw;
        }

        return stream;
    }

    /// <summary>
    /// True when the blob's bytes were hashed (at write, by a scrub or a verified serve) and the file's size and
    /// modification time have not changed since.
    /// </summary>
    public bool IsVerified(string sha256) =>
        _verified.TryGetValue(sha256, out var known) && known == Fingerprint.Of(PathFor(sha256));

    /// <summary>Records that the blob's current bytes were hashed and matched.</summary>
    public void MarkVerified(string sha256) => _verified[sha256] = Fingerprint.Of(PathFor(sha256));

    /// <summary>Re-hashes a held blob now; a wrong one is removed. Returns true when it is good.</summary>
    public async Task<bool> VerifyAsync(string sha256, CancellationToken ct)
    {
        var stream = OpenRead(sha256);
        if (stream is null)
        {
            return false;
        }

        byte[] hash;
        await using (stream.ConfigureAwait(false))
        {
            hash = await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false);
        }

        if (Convert.ToHexStringLower(hash) == sha256)
        {
            MarkVerified(sha256);
            return true;
        }

        Remove(sha256);
        return false;
    }

    /// <summary>Hashes of every held blob (snapshot).</summary>
    public IReadOnlyList<string> List() => _blobs.Keys.ToList();

    /// <summary>Deletes a blob and its records (a corrupt one, or on request).</summary>
    public bool Remove(string sha256)
    {
        if (!IsSha256(sha256))
        {
            return false;
        }

        var path = PathFor(sha256);
        if (!TryRemoveRow(sha256))
        {
            // No room on the disk even for SQLite to record a delete (its WAL grows): the file goes first, which makes
            // that room, then the row once more. Should the row still stay, the blob has left the store all the same
            // (nothing serves or counts it), and the start-up check drops the row of a missing file.
            Drop(sha256);
            DeleteFile(path);
            if (!TryRemoveRow(sha256))
            {
                Interlocked.Increment(ref _rowsLeft);
            }

            return true;
        }

        Drop(sha256);
        DeleteFile(path);
        return true;
    }

    /// <summary>Deletes a blob's rows; false when the disk is full (SQLITE_FULL), with nothing changed.</summary>
    private bool TryRemoveRow(string sha256)
    {
        try
        {
            _db.RemoveBlob(sha256);
            return true;
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (PatchDatabase.IsDiskFull(e))
        {
            return false;
        }
    }


    internal void Commit(string tempPath, string sha256, long size, PatchRecord? patch, byte[]? pieceHashes = null)
    {
        var finalPath = PathFor(sha256);
        var directory = Path.GetDirectoryName(finalPath)!;
        Directory.CreateDirectory(directory);
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(tempPath, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        File.Move(tempPath, finalPath, overwrite: true); // same content by construction: the name is its hash
        DirectorySync.Flush(directory);
        var now = _time.GetUtcNow();
        try
        {
            _db.AddBlob(sha256, size, now, patch, pieceHashes is null ? null : (Options.PieceSize, pieceHashes));
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            // Not recorded (e.g. the disk filled up between the data and the row): not stored. The file goes too,
            // so the store never holds a blob without its record.
            DeleteFile(finalPath);
            throw new IOException($"recording the blob failed: {e.Message}", e);
        }

        if (_blobs.TryAdd(sha256, new BlobEntry(size, now)))
        {
            Interlocked.Add(ref _totalBytes, size);
        }

        MarkVerified(sha256);
        EvictIfOverCapacity(keep: sha256, CapacityBytes);
        PulseChanged();
        Stored?.Invoke(sha256, size, patch);
    }

    /// <summary>
    /// A verified blob was just stored (after its record; the patch row it came with, if any). Handlers run on the
    /// writer's thread: they must be quick and must not throw.
    /// </summary>
    public event Action<string, long, PatchRecord?>? Stored;

    /// <summary>
    /// A held blob left the store (evicted for room, found corrupt, or removed on request). Handlers run on the
    /// remover's thread: they must be quick and must not throw.
    /// </summary>
    public event Action<string>? Removed;

    /// <summary>
    /// The piece hashes of a held blob at <see cref="BlobStoreOptions.PieceSize"/>: as recorded when it was stored, or,
    /// for a blob stored before they were kept, computed now in one streaming read (which also re-checks the whole
    /// hash: a corrupt blob is removed) and recorded. Null when the blob is not held (or was corrupt).
    /// </summary>
    public async Task<BlobPieces?> GetPiecesAsync(string sha256, CancellationToken ct)
    {
        if (!TryGetSize(sha256, out var size))
        {
            return null;
        }

        if (_db.GetPieces(sha256, Options.PieceSize) is { } recorded)
        {
            return new BlobPieces(sha256, size, Options.PieceSize, recorded);
        }

        var stream = OpenRead(sha256);
        if (stream is null)
        {
            return null;
        }

        byte[] hashes;
        await using (stream.ConfigureAwait(false))
        {
            using var whole = new HashingReadStream(stream);
            hashes = await PieceHasher.HashAsync(whole, Options.PieceSize, Options.BufferBytes, ct).ConfigureAwait(false);
            if (whole.Length != size || whole.HexHash() != sha256)
            {
                Remove(sha256);
                return null;
            }
        }

        MarkVerified(sha256);
        _db.SetPieces(sha256, Options.PieceSize, hashes);
        return new BlobPieces(sha256, size, Options.PieceSize, hashes);
    }

    /// <summary>Records a patch row for a blob already held.</summary>
    public void RecordPatch(PatchRecord patch) => _db.AddPatch(patch);

    /// <summary>Makes a write readable while it grows; the first write of a hash wins, later ones are not live.</summary>
    internal LiveBlob? StartLive(string sha256, long size, string tempPath)
    {
        var blob = new LiveBlob(sha256, size, tempPath);
        if (!_live.TryAdd(sha256, blob))
        {
            return null;
        }

        PulseChanged();
        return blob;
    }

    /// <summary>Ends a live write: its readers finish (committed) or throw (failed).</summary>
    internal void EndLive(LiveBlob blob, bool committed, string failure)
    {
        _live.TryRemove(new KeyValuePair<string, LiveBlob>(blob.Sha256, blob));
        blob.Finish(committed, failure);
        PulseChanged();
    }

    internal string NewTempPath() => Path.Combine(TempDirectory, Guid.NewGuid().ToString("N") + ".part");

    // Storage does not reference Protocol (dependencies point Node -> Storage, Protocol), so it checks the format itself.
    internal static bool IsSha256(string? s) =>
        s is { Length: 64 } && s.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    private void PulseChanged() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>
    /// Marks a held blob used now (it is being served, its pieces listed, or it is about to be applied), so the
    /// least-recently-used eviction and the trim's spare (<see cref="TrimToCapacity"/>) count it as in use. A no-op
    /// for a blob not held.
    /// </summary>
    public void MarkUsed(string sha256)
    {
        if (_blobs.TryGetValue(sha256, out var entry))
        {
            Touch(sha256, entry);
        }
    }

    /// <summary>
    /// Marks a held blob used now (<see cref="MarkUsed"/>) and in use by this node's <paramref name="user"/> (a pass's
    /// patch): it is about to be verified and applied. Until that user's <see cref="EndUse"/>, and for
    /// <see cref="InUseSpare"/> at most, no eviction takes it, neither the trim nor the one when a blob is stored (which
    /// then may leave the store over its cap meanwhile). Marks are per user, and marking twice is one mark: two patches
    /// of a pass that share a blob (one installer under two names) keep it until both are done. Only the node's own
    /// passes mark blobs in use (the patches they apply, and the downloads they are still pushing to the server, a few
    /// at a time): a blob merely served to peers is not, so pushes received and reads from the LAN cannot keep the
    /// store over its cap. A no-op for a blob not held.
    /// </summary>
    public void MarkInUse(string sha256, string user)
    {
        if (_blobs.ContainsKey(sha256))
        {
            _inUse[(sha256, user)] = _time.GetUtcNow();
            MarkUsed(sha256);
        }
    }

    /// <summary>
    /// The pass is done with the blob (applied, staged elsewhere, or failed): it is evictable again like any other.
    /// Without this every patch a pass applied stayed spared for <see cref="InUseSpare"/>, and pass after pass the cache
    /// grew past its cap (120 MB against a 42 MB cap after four 30 MB passes).
    /// </summary>
    public void EndUse(string sha256, string user) => _inUse.TryRemove((sha256, user), out _);

    private void Touch(string sha256, BlobEntry entry)
    {
        var now = _time.GetUtcNow();
        if (now - entry.LastAccess < TouchPersistInterval)
        {
            return;
        }

        _blobs.TryUpdate(sha256, entry with { LastAccess = now }, entry);
        try
        {
            _db.TouchBlob(sha256, now);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (PatchDatabase.IsDiskFull(e))
        {
            // No room to record the time (the disk is full): the store's order in memory has it; a restart before
            // the next recorded use sees the blob as used when it was last recorded.
        }
    }

    private void Drop(string sha256)
    {
        _verified.TryRemove(sha256, out _);
        foreach (var mark in _inUse.Keys.Where(k => k.Sha256 == sha256))
        {
            _inUse.TryRemove(mark, out _);
        }

        if (_blobs.TryRemove(sha256, out var entry))
        {
            Interlocked.Add(ref _totalBytes, -entry.Size);
            Removed?.Invoke(sha256);
        }
    }

    /// <summary>
    /// Evicts least recently used blobs until the store is within <see cref="CapacityBytes"/> as measured now, sparing
    /// every blob used within <paramref name="spare"/> (a pass may be applying it). A share of the room
    /// (<see cref="BlobStoreOptions.CapacityPercent"/>) shrinks when the disk fills with other files; this gives that
    /// room back without waiting for the next blob to be stored. Returns the blobs and bytes evicted.
    /// </summary>
    public (int Blobs, long Bytes) TrimToCapacity(TimeSpan spare)
    {
        var usedSince = _time.GetUtcNow() - spare;
        return EvictLeastRecentlyUsed(CapacityBytes, (sha, entry) => entry.LastAccess >= usedSince || InUse(sha));
    }

    /// <summary>The eviction when a blob is stored (or at start): spares the new blob and those marked in use.</summary>
    private void EvictIfOverCapacity(string? keep, long capacity) => EvictLeastRecentlyUsed(capacity, (sha, _) => sha == keep || InUse(sha));

    /// <summary>
    /// True when some user marked the blob in use (<see cref="MarkInUse"/>) within <see cref="InUseSpare"/>; older marks
    /// are dropped. A scan of the marks: a pass holds a handful at a time.
    /// </summary>
    private bool InUse(string sha256)
    {
        var now = _time.GetUtcNow();
        var inUse = false;
        foreach (var (mark, at) in _inUse)
        {
            if (mark.Sha256 != sha256)
            {
                continue;
            }

            if (at <= now && now - at < InUseSpare)
            {
                inUse = true;
            }
            else
            {
                _inUse.TryRemove(new KeyValuePair<(string, string), DateTimeOffset>(mark, at));
            }
        }

        return inUse;
    }

    /// <summary>Removes least recently used blobs, except those <paramref name="spared"/>, until within <paramref name="capacity"/> (0 = none).</summary>
    private (int Blobs, long Bytes) EvictLeastRecentlyUsed(long capacity, Func<string, BlobEntry, bool> spared)
    {
        var (blobs, bytes) = (0, 0L);
        if (capacity <= 0 || TotalBytes <= capacity)
        {
            return (blobs, bytes);
        }

        lock (_evictLock)
        {
            foreach (var (sha, entry) in _blobs.OrderBy(b => b.Value.LastAccess).ToList())
            {
                if (TotalBytes <= capacity)
                {
                    break;
                }

                if (!spared(sha, entry) && Remove(sha))
                {
                    Evictions++;
                    blobs++;
                    bytes += entry.Size;
                }
            }
        }

        return (blobs, bytes);
    }

    private long FreeBytes()
    {
        try
        {
            var free = new DriveInfo(Root).AvailableFreeSpace;
            Interlocked.Exchange(ref _lastFreeBytes, free);
            return free;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return Interlocked.Read(ref _lastFreeBytes); // cannot measure now: the last measurement
        }
    }

    private static void DeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Gone already or busy: the next start-up pass removes it.
        }
    }

    private readonly record struct BlobEntry(long Size, DateTimeOffset LastAccess);

    private readonly record struct Fingerprint(long Size, DateTime Modified)
    {
        public static Fingerprint Of(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? new Fingerprint(info.Length, info.LastWriteTimeUtc) : default;
        }
    }
}
