namespace PeerPatch.Storage;

/// <summary>
/// A blob still being written (its temp file), readable while it grows: the cut-through path that lets nodes
/// waiting on another node's download take the bytes as they arrive instead of after the push. Readers never get
/// the last byte before the writer has verified the whole blob and committed it, so a stream read through
/// <see cref="LiveBlobStream"/> completes only with bytes that match their name; a failed write makes every
/// reader throw.
/// </summary>
public sealed class LiveBlob
{
    /// <summary>
    /// Readers are woken per this many new bytes (and at the end), not per write: a socket delivers a body in pieces
    /// of a few KB, and waking every reader for each piece cost more CPU than the copying when 20 followed one push.
    /// </summary>
    private const long WakeEveryBytes = 128 * 1024;

    private TaskCompletionSource _changed = NewSignal();
    private long _written;
    private long _wokenAt;
    private int _state; // 0 writing, 1 committed, 2 failed
    private string _failure = string.Empty;

    internal LiveBlob(string sha256, long size, string tempPath)
    {
        Sha256 = sha256;
        Size = size;
        TempPath = tempPath;
    }

    /// <summary>The hash the bytes must have.</summary>
    public string Sha256 { get; }

    /// <summary>The declared size.</summary>
    public long Size { get; }

    /// <summary>Bytes written to the temp file so far.</summary>
    public long Written => Volatile.Read(ref _written);

    internal string TempPath { get; }

    internal bool Committed => Volatile.Read(ref _state) == 1;

    internal bool Failed => Volatile.Read(ref _state) == 2;

    internal string Failure => Volatile.Read(ref _failure);

    /// <summary>Completes when anything changes (more bytes, commit, failure); take it before reading the state.</summary>
    internal Task Changed => Volatile.Read(ref _changed).Task;

    internal void Advance(long written)
    {
        Volatile.Write(ref _written, written);
        if (written - _wokenAt >= WakeEveryBytes || written >= Size)
        {
            _wokenAt = written;
            Pulse();
        }
    }

    internal void Finish(bool committed, string failure)
    {
        Volatile.Write(ref _failure, failure);
        Volatile.Write(ref _state, committed ? 1 : 2);
        Pulse();
    }

    private void Pulse() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
