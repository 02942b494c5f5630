using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Updating;

/// <summary>
/// What the running pass is doing now (one pass runs at a time): which patch, which stage, and a live byte count.
/// Written by <see cref="PatchPipeline"/>, polled by POST /v1/update to stream progress lines.
/// </summary>
internal sealed class PassActivity
{
    private volatile Entry? _current;

    public void Set(string patch, string stage, long total, ByteProgress? bytes = null) => _current = new Entry(patch, stage, total, bytes);

    public void Clear() => _current = null;

    public TransferProgress? Snapshot() =>
        _current is { } e ? new TransferProgress(e.Patch, e.Stage, e.Bytes?.Value ?? 0, e.Total) : null;

    private sealed record Entry(string Patch, string Stage, long Total, ByteProgress? Bytes);
}

