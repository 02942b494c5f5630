using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.ServerLink;

/// <summary>What this node tells a server it holds: every recorded patch whose blob is in the store (upstream URLs redacted).</summary>
internal sealed class InventoryReport(PatchDatabase db, BlobStore store)
{
    public IReadOnlyList<InventoryEntry> Build() =>
        db.ListPatches().Where(r => store.Contains(r.Sha256))
            .Select(r => new InventoryEntry(r.OsVersion, r.PatchName, r.Sha256, r.Size, Protocol.Text.SecretRedaction.RedactUrl(r.UpstreamUrl)))
            .ToList();
}
