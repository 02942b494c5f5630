using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Updating;

/// <summary>
/// What one owner (an update pass, or one package the apt proxy fetches) is doing now: which patch, which stage
/// (<see cref="ProgressStage"/>), and a live byte count. Each owner has its own, so concurrent passes and proxy
/// fetches never overwrite each other; <see cref="ProgressBoard"/> lists every one that is registered.
/// Written by <see cref="PatchPipeline"/>, polled by POST /v1/update (its own pass) and GET /v1/status (all).
/// </summary>
internal sealed class PatchProgress
{
    private volatile Entry? _current;
    private volatile PatchProgress? _follow;

    public void Set(string patch, string stage, long total, ByteProgress? bytes = null) => _current = new Entry(patch, stage, total, bytes);

    public void Clear() => _current = null;

    /// <summary>
    /// Show <paramref name="other"/>'s patch and stage while it has one, this one's own otherwise (null: stop
    /// following): a pass that waits for a patch obtained alongside others shows that patch's progress as its own.
    /// </summary>
    public void Follow(PatchProgress? other) => _follow = other == this ? null : other;

    /// <summary>Shows another's patch now (<see cref="Follow"/>): the board lists that other one instead.</summary>
    public bool Following => _follow?._current is not null;

    /// <summary>The current patch and stage (the followed one's while it has one), or null between patches.</summary>
    public TransferProgress? Snapshot() => (_follow?._current ?? _current) is { } e ? new TransferProgress(e.Patch, e.Stage, e.Bytes?.Value ?? 0, e.Total) : null;

    private sealed record Entry(string Patch, string Stage, long Total, ByteProgress? Bytes);
}
