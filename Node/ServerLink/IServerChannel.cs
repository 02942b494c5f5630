using PeerPatch.Node.Sources;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.ServerLink;

/// <summary>The LAN server as an update pass sees it: this node itself, or a remote node over LiteNetLib + HTTP.</summary>
internal interface IServerChannel
{
    /// <summary>For logs.</summary>
    string Name { get; }

    /// <summary>True when this node is the server (a hit is already in the local store).</summary>
    bool IsLocal { get; }

    /// <summary>Asks for a patch. Throws <see cref="Transport.LanUnavailableException"/> when the server cannot answer in time.</summary>
    Task<LookupResult> LookupAsync(Lookup lookup, CancellationToken ct);

    /// <summary>
    /// Renews a claim (naming its patch, so a server that did not grant it may adopt it); the server's whole answer:
    /// not <see cref="Ack.Ok"/> when the claim is gone, <see cref="Ack.RateLimit"/> this holder's share of the internet
    /// cap now.
    /// </summary>
    Task<Ack> RenewClaimAsync(ClaimRenew renew, CancellationToken ct);

    /// <summary>Gives a claim back after a failed download.</summary>
    Task ReleaseAsync(ulong claimId, string reason, CancellationToken ct);

    /// <summary>
    /// Pushes a verified local blob to the server (unless <paramref name="bodySent"/>: a streaming push already
    /// delivered it) and reports the claim done; true when the server stored it.
    /// </summary>
    Task<bool> PushAsync(PatchSpec patch, ulong claimId, bool bodySent, CancellationToken ct);

    /// <summary>
    /// Cut-through: pushes this node's download of <paramref name="patch"/> to the server while it is still being
    /// downloaded, so that nodes waiting on the claim stream it from the server at once. True when the server
    /// stored the bytes; false (never throws) when the push could not start or failed: the caller pushes afterwards.
    /// </summary>
    Task<bool> StreamPushAsync(PatchSpec patch, CancellationToken ct);

    /// <summary>
    /// A number that changes each time a new session with the server opens (0: none yet; always 0 for this node
    /// itself). A new session may be a new server: the <see cref="InventoryReporter"/> reports to it.
    /// </summary>
    int SessionNumber { get; }

    /// <summary>Makes sure a session with the server is open.</summary>
    Task ConnectAsync(CancellationToken ct);

    /// <summary>
    /// Tells the server which blobs this node holds (POST /v1/inventory), so a newly elected server knows every patch
    /// a live node has. Throws <see cref="Transport.LanUnavailableException"/>, <see cref="HttpRequestException"/> or
    /// an <see cref="OperationCanceledException"/> when the report was not delivered.
    /// </summary>
    /// <param name="kind">What the entries are: everything held, blobs just stored, or blobs just gone (<see cref="InventoryKind"/>).</param>
    Task ReportInventoryAsync(IReadOnlyList<InventoryEntry> entries, CancellationToken ct, InventoryKind kind = InventoryKind.Full);

    /// <summary>
    /// Tells the server of LAN sources that proved wrong for a blob (POST /v1/sources/faults; <see cref="SourceFault"/>),
    /// so it stops listing them for that blob. Throws like <see cref="ReportInventoryAsync"/> when not delivered.
    /// </summary>
    Task ReportSourceFaultsAsync(IReadOnlyList<SourceFault> faults, CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// Sends this node's compliance report (POST /v1/compliance) and returns the server's reply (the nodes it knows).
    /// Throws like <see cref="ReportInventoryAsync"/> when the report was not delivered.
    /// </summary>
    Task<ComplianceReply> ReportComplianceAsync(ComplianceReport report, CancellationToken ct);

    /// <summary>
    /// The server's HTTP base URL (opening a session if needed), for requests other than blobs (the policy). Throws
    /// <see cref="Transport.LanUnavailableException"/> when there is none (and always for this node itself).
    /// </summary>
    Task<Uri> HttpBaseAsync(CancellationToken ct) => Task.FromException<Uri>(new Transport.LanUnavailableException($"{Name} has no HTTP base"));

    /// <summary>Absolute URL of a blob URL from a lookup result.</summary>
    Uri ResolveBlobUrl(string blobUrl);
}

/// <summary>What an inventory report (<see cref="IServerChannel.ReportInventoryAsync"/>) says.</summary>
internal enum InventoryKind
{
    /// <summary>Every blob this node holds (at each new session): a source for others, and pulled by a server that lacks it.</summary>
    Full,

    /// <summary>
    /// Blobs this node just stored (`?delta=1`): it is a source for others, but no pull (the claim holder's push is
    /// already on its way, and a node that fetched a blob got it from the LAN).
    /// </summary>
    Added,

    /// <summary>Blobs this node no longer holds (`?gone=1`: evicted, corrupt, removed): no longer a source for them.</summary>
    Gone,
}
