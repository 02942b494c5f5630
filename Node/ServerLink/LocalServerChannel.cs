using PeerPatch.Node.Primitives;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Sources;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.ServerLink;

/// <summary>This node is the server: calls go straight to <see cref="PatchServer"/>, blobs are already in the local store.</summary>
internal sealed class LocalServerChannel(PatchServer server, ComplianceBook compliance, SourceTable sources, HolderIndex holders, NodeIdentity self, TimeProvider time) : IServerChannel
{
    public string Name => "this node";

    public bool IsLocal => true;

    public Task<LookupResult> LookupAsync(Lookup lookup, CancellationToken ct) => Task.FromResult(server.Lookup(lookup));

    public Task<Ack> RenewClaimAsync(ClaimRenew renew, CancellationToken ct) => Task.FromResult(server.Renew(renew));

    public Task ReleaseAsync(ulong claimId, string reason, CancellationToken ct)
    {
        server.Release(new ClaimRelease(claimId, reason));
        return Task.CompletedTask;
    }

    /// <summary>This node's own download is live in its store already: waiters stream it from there.</summary>
    public Task<bool> StreamPushAsync(PatchSpec patch, CancellationToken ct) => Task.FromResult(false);

    public Task<bool> PushAsync(PatchSpec patch, ulong claimId, bool bodySent, CancellationToken ct)
    {
        server.OnStored(patch.OsVersion, patch.Name, patch.Sha256, patch.Size);
        return Task.FromResult(server.PushDone(new PushDone(claimId, patch.Sha256, patch.Size)).Ok);
    }

    public int SessionNumber => 0;

    public Task ConnectAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>The server knows its own store.</summary>
    public Task ReportInventoryAsync(IReadOnlyList<InventoryEntry> entries, CancellationToken ct, InventoryKind kind = InventoryKind.Full) => Task.CompletedTask;

    /// <summary>This node's own pass found them wrong: the server's word alone suffices (the same rules otherwise).</summary>
    public Task ReportSourceFaultsAsync(IReadOnlyList<SourceFault> faults, CancellationToken ct)
    {
        SourceFaultIntake.Apply(sources, holders, self.NodeId, faults, time.MonotonicNow(), alone: true);
        return Task.CompletedTask;
    }

    /// <summary>This node's own report goes straight into the server's book (checked like any other).</summary>
    public Task<ComplianceReply> ReportComplianceAsync(ComplianceReport report, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (!ComplianceIntake.TryRead(report, now, out var row, out var error))
        {
            throw new InvalidOperationException($"this node's own compliance report is malformed: {error}");
        }

        compliance.Record(row);
        compliance.Learn(report.Known, now);
        return Task.FromResult(new ComplianceReply(row.Patches.Count, compliance.Known(now)));
    }

    /// <summary>A hit this server does not hold itself points at the node that does (absolute URL).</summary>
    public Uri ResolveBlobUrl(string blobUrl) =>
        Uri.TryCreate(blobUrl, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https"
            ? absolute
            : throw new InvalidOperationException($"a local hit for {blobUrl} should have been served from the local store");
}
