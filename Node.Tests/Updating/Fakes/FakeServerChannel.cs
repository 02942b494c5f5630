using PeerPatch.Protocol.Status;
using PeerPatch.Node.ServerLink;
using System.Collections.Concurrent;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Transport;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>
/// The LAN server in memory: lookups answered by a script (the i-th lookup gets the i-th answer, the last repeats;
/// an answer may throw <see cref="LanUnavailableException"/>, as a server that is gone or too slow does), every
/// renewal, release and push recorded. Blob URLs resolve against http://{name}/.
/// </summary>
internal sealed class FakeServerChannel(string name = "server.test", bool isLocal = false) : IServerChannel
{
    private readonly ConcurrentQueue<Lookup> _lookups = new();
    private Func<Lookup, LookupResult>[] _script = [_ => throw new LanUnavailableException("no script")];

    public string Name => name;

    public bool IsLocal => isLocal;

    public Uri Base { get; } = new($"http://{name}/");

    public IReadOnlyList<Lookup> Lookups => [.. _lookups];

    public ConcurrentQueue<(ulong ClaimId, long Bytes)> Renewals { get; } = new();

    /// <summary>Every renewal as sent (the patch it names).</summary>
    public ConcurrentQueue<ClaimRenew> RenewMessages { get; } = new();

    public ConcurrentQueue<(ulong ClaimId, string Reason)> Releases { get; } = new();

    public ConcurrentQueue<(string Sha256, ulong ClaimId, bool BodySent)> Pushes { get; } = new();

    /// <summary>What a renewal answers (true: the claim lives); it may throw.</summary>
    public Func<ulong, bool> Renew { get; set; } = _ => true;

    /// <summary>What the final push answers (true: stored); it may throw.</summary>
    public Func<bool> Push { get; set; } = () => true;

    /// <summary>The cut-through push during the download: true when it delivered the body. Default: none made.</summary>
    public Func<PatchSpec, CancellationToken, Task<bool>> StreamPush { get; set; } = (_, _) => Task.FromResult(false);

    public static Func<Lookup, LookupResult> Gone(string why = "no answer within 00:00:02") => _ => throw new LanUnavailableException(why);

    public void Answer(params Func<Lookup, LookupResult>[] script) => _script = script;

    public Task<LookupResult> LookupAsync(Lookup lookup, CancellationToken ct)
    {
        _lookups.Enqueue(lookup);
        return Task.FromResult(_script[Math.Min(_lookups.Count, _script.Length) - 1](lookup));
    }

    /// <summary>Awaited before a renewal is answered (null: answered at once): a server that died answers late or never.</summary>
    public Func<ClaimRenew, CancellationToken, Task>? RenewDelay { get; set; }

    public async Task<Ack> RenewClaimAsync(ClaimRenew renew, CancellationToken ct)
    {
        Renewals.Enqueue((renew.ClaimId, renew.BytesDone));
        RenewMessages.Enqueue(renew);
        if (RenewDelay is { } delay)
        {
            await delay(renew, ct);
        }

        return new Ack(Renew(renew.ClaimId), 0, null);
    }

    public Task ReleaseAsync(ulong claimId, string reason, CancellationToken ct)
    {
        Releases.Enqueue((claimId, reason));
        return Task.CompletedTask;
    }

    /// <summary>Awaited before the final push is answered (null: at once): a push into a busy server's link.</summary>
    public Func<CancellationToken, Task>? PushDelay { get; set; }

    public async Task<bool> PushAsync(PatchSpec patch, ulong claimId, bool bodySent, CancellationToken ct)
    {
        Pushes.Enqueue((patch.Sha256, claimId, bodySent));
        if (PushDelay is { } delay)
        {
            await delay(ct);
        }

        return Push();
    }

    public Task<bool> StreamPushAsync(PatchSpec patch, CancellationToken ct) => StreamPush(patch, ct);

    public Task ConnectAsync(CancellationToken ct) => Task.CompletedTask;

    public int SessionNumber => 1;

    public Task ReportInventoryAsync(IReadOnlyList<InventoryEntry> entries, CancellationToken ct, InventoryKind kind = InventoryKind.Full) => Task.CompletedTask;

    public Task<ComplianceReply> ReportComplianceAsync(ComplianceReport report, CancellationToken ct) => Task.FromResult(new ComplianceReply(0, []));

    /// <summary>How a blob URL resolves; it may throw (a remote channel without a session, a local one without the blob).</summary>
    public Func<string, Uri>? Resolve { get; set; }

    public Uri ResolveBlobUrl(string blobUrl) => Resolve?.Invoke(blobUrl) ?? new(Base, blobUrl.TrimStart('/'));
}
