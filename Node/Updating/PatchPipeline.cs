using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Updating;

/// <summary>
/// One patch through the method: ask the server; hit -> fetch over the LAN; miss -> download from the
/// internet under a claim and push back; in flight -> wait and ask again. Whatever goes wrong on the LAN side
/// (server gone, slow, refusing, serving bad bytes) ends in a direct internet download, logged as such.
/// Then the local copy is verified once more and applied with the upstream list's command.
/// </summary>
internal sealed partial class PatchPipeline(
    BlobStore store,
    PatchDatabase db,
    IServerChannelProvider servers,
    InternetDownloader internet,
    LanFetcher lan,
    PatchApplier applier,
    NodeIdentity self,
    UpdatingOptions options,
    NodeStats stats,
    NodeEvents events,
    PassActivity activity,
    IRandomSource random,
    TimeProvider time,
    ILogger<PatchPipeline> logger)
{
    private static readonly TimeSpan ElectionWait = TimeSpan.FromSeconds(3);

    /// <summary>Cut-through streams that may break off before a waiter stops using them for this patch.</summary>
    private const int MaxStreamFailures = 2;

    /// <param name="dryRun">Obtain and verify, run a staging step (<see cref="ApplySpec.Stages"/>), apply nothing else.</param>
    public async Task<PatchOutcome> RunAsync(PatchSpec patch, bool dryRun, CancellationToken ct)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["Patch"] = patch.Name, ["PatchHash"] = patch.Sha256 });
        try
        {
            return await RunScopedAsync(patch, dryRun, ct).ConfigureAwait(false);
        }
        finally
        {
            activity.Clear();
        }
    }

    private async Task<PatchOutcome> RunScopedAsync(PatchSpec patch, bool dryRun, CancellationToken ct)
    {
        if (patch.Unverifiable is { } why)
        {
            // The source listed it without a trustworthy SHA-256: never fetched, counted failed with the reason.
            Log.Failed(logger, patch.Name, why);
            return new PatchOutcome(patch.OsVersion, patch.Name, patch.Sha256, 0, null, false, why);
        }

        var obtained = await ObtainAsync(patch, ct).ConfigureAwait(false);
        if (!obtained.Result.Ok)
        {
            Log.Failed(logger, patch.Name, obtained.Result.Error);
            return Outcome(patch, obtained, applied: false, obtained.Result.Error);
        }

        // Integrity: only bytes that hash to the upstream list's SHA-256 are applied. The store hashed them on
        // the way in; re-hash if the file changed since.
        activity.Set(patch.Name, "verifying", patch.Size);
        if (!store.IsVerified(patch.Sha256) && !await store.VerifyAsync(patch.Sha256, ct).ConfigureAwait(false))
        {
            const string error = "local copy no longer matches its SHA-256; not applied";
            Log.Failed(logger, patch.Name, error);
            return Outcome(patch, obtained, applied: false, error);
        }

        if (dryRun && !patch.Apply.Stages)
        {
            Log.DryRun(logger, patch.Name, obtained.From);
            return Outcome(patch, obtained, applied: false, null) with { DryRun = true };
        }

        activity.Set(patch.Name, "applying", patch.Size);
        var (ok, applyError) = await applier.ApplyAsync(patch, store.PathFor(patch.Sha256), ct).ConfigureAwait(false);
        if (!ok)
        {
            Log.Failed(logger, patch.Name, applyError);
            return Outcome(patch, obtained, applied: false, applyError);
        }

        if (dryRun)
        {
            Log.DryRun(logger, patch.Name, obtained.From);
            return Outcome(patch, obtained, applied: false, null) with { DryRun = true }; // staged only; not recorded as applied
        }

        db.MarkApplied(patch.OsVersion, patch.Name, patch.Sha256, time.GetUtcNow());
        stats.PatchApplied();
        Log.Applied(logger, patch.Name, obtained.From, obtained.Result.Bytes);
        return Outcome(patch, obtained, applied: true, null);
    }

    /// <summary>
    /// Gets the patch's verified bytes into this node's store by the method (LAN server, claim, internet), without
    /// applying it: the update pass's first half, and the apt proxy's way to serve a package it knows the hash of.
    /// </summary>
    internal async Task<Obtained> ObtainAsync(PatchSpec patch, CancellationToken ct)
    {
        if (store.Contains(patch.Sha256))
        {
            return new Obtained(Origin.Lan, FetchResult.Success(0)); // already on this node (own cache)
        }

        // During an election there is briefly no server: wait a little, then go to the internet.
        activity.Set(patch.Name, "lookup", patch.Size);
        var server = servers.Current ?? await servers.WaitForServerAsync(ElectionWait, ct).ConfigureAwait(false);
        if (server is null)
        {
            return await DirectAsync(patch, "no LAN server is known", ct).ConfigureAwait(false);
        }

        var deadline = time.MonotonicNow() + options.ClaimWaitMax;
        var lookup = new Lookup(patch.OsVersion, patch.Name, patch.Sha256, patch.Size, self.NodeId);
        var switched = false;
        var streamFailures = 0;
        long? waitingSince = null;
        while (true)
        {
            LookupResult answer;
            try
            {
                var asked = time.GetTimestamp();
                answer = await server.LookupAsync(lookup, ct).ConfigureAwait(false);
                stats.LookupTook(time.GetElapsedTime(asked));
            }
            catch (LanUnavailableException e)
            {
                // The server died and an election already moved this node to another: ask that one (once).
                if (!switched && servers.Current is { } next && !ReferenceEquals(next, server))
                {
                    Log.ServerChanged(logger, patch.Name, server.Name, next.Name);
                    (server, switched) = (next, true);
                    continue;
                }

                return await DirectAsync(patch, $"LAN server {server.Name} unavailable ({e.Message})", ct).ConfigureAwait(false);
            }

            if (waitingSince is { } began && answer.Outcome != LookupOutcome.InFlight)
            {
                stats.ClaimWaited(time.GetElapsedTime(began));
                waitingSince = null;
            }

            switch (answer.Outcome)
            {
                case LookupOutcome.Hit when server.IsLocal && store.Contains(patch.Sha256):
                    return new Obtained(Origin.Lan, FetchResult.Success(0));

                case LookupOutcome.Hit:
                    var lanProgress = new ByteProgress();
                    activity.Set(patch.Name, "lan", patch.Size, lanProgress);
                    var fetched = await lan.FetchAsync(server.ResolveBlobUrl(answer.BlobUrl!), patch, lanProgress, ct).ConfigureAwait(false);
                    if (fetched.Ok)
                    {
                        return new Obtained(Origin.Lan, fetched);
                    }

                    stats.LanFailure();
                    return await DirectAsync(patch, fetched.Error!, ct).ConfigureAwait(false);

                case LookupOutcome.Miss:
                    return await DownloadUnderClaimAsync(patch, server, answer, ct).ConfigureAwait(false);

                case LookupOutcome.InFlight when answer.BlobUrl is { } streamUrl && !server.IsLocal && streamFailures < MaxStreamFailures:
                    // Cut-through: take the bytes as the server receives them from the claim holder.
                    if (waitingSince is null)
                    {
                        waitingSince = time.GetTimestamp();
                        stats.ClaimWait(); // counted like any wait on a claim, so the wait-time samples match the count
                    }

                    var streamProgress = new ByteProgress();
                    activity.Set(patch.Name, "lan", patch.Size, streamProgress);
                    var streamed = await lan.FetchAsync(server.ResolveBlobUrl(streamUrl), patch, streamProgress, ct).ConfigureAwait(false);
                    if (streamed.Ok)
                    {
                        stats.ClaimWaited(time.GetElapsedTime(waitingSince.Value));
                        Log.Streamed(logger, patch.Name, server.Name, streamed.Bytes);
                        return new Obtained(Origin.Lan, streamed);
                    }

                    if (!streamed.NotThere)
                    {
                        // The holder's download or push broke off, the bytes were wrong, or the server failed: ask again.
                        streamFailures++;
                        stats.LanFailure();
                        Log.StreamFailed(logger, patch.Name, streamed.Error!, streamFailures, MaxStreamFailures);
                    }

                    goto default;

                default:
                    if (time.MonotonicNow() > deadline)
                    {
                        stats.ClaimWaited(time.GetElapsedTime(waitingSince ?? time.GetTimestamp()));
                        return await DirectAsync(patch, $"waited {options.ClaimWaitMax} for another node's download", ct).ConfigureAwait(false);
                    }

                    if (waitingSince is null)
                    {
                        waitingSince = time.GetTimestamp();
                        stats.ClaimWait();
                        activity.Set(patch.Name, "waiting", patch.Size);
                    }

                    var wait = TimeSpan.FromMilliseconds(Math.Max(50, answer.RetryAfterMs) * (0.8 + (random.NextDouble() * 0.4)));
                    Log.Waiting(logger, patch.Name, answer.Size, wait.TotalMilliseconds);
                    await Task.Delay(wait, time, ct).ConfigureAwait(false);
                    break;
            }
        }
    }

    private async Task<Obtained> DownloadUnderClaimAsync(PatchSpec patch, IServerChannel server, LookupResult claim, CancellationToken ct)
    {
        Log.Downloading(logger, patch.Name, patch.Url, claim.ClaimId);
        var progress = new ByteProgress();
        activity.Set(patch.Name, "internet", patch.Size, progress);
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var renewals = RenewLoopAsync(server, claim, progress, renewing.Token);

        // Cut-through: the push follows the download as it is written, so waiters get the bytes from the server now.
        using var pushing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var streamPush = server.StreamPushAsync(patch, pushing.Token);
        FetchResult result;
        try
        {
            result = await internet.DownloadAsync(patch, progress, ct).ConfigureAwait(false);
        }
        catch
        {
            await pushing.CancelAsync().ConfigureAwait(false); // the pass was cancelled or hit its deadline: no push follows
            throw;
        }
        finally
        {
            await renewing.CancelAsync().ConfigureAwait(false);
            await renewals.ConfigureAwait(false);
        }

        if (!result.Ok)
        {
            await pushing.CancelAsync().ConfigureAwait(false);
        }

        var bodySent = await streamPush.ConfigureAwait(false);
        try
        {
            if (!result.Ok)
            {
                await server.ReleaseAsync(claim.ClaimId, result.Error ?? "download failed", ct).ConfigureAwait(false);
            }
            else if (await server.PushAsync(patch, claim.ClaimId, bodySent, ct).ConfigureAwait(false))
            {
                Log.Pushed(logger, patch.Name, server.Name);
            }
        }
        catch (Exception e) when (e is LanUnavailableException or HttpRequestException or IOException
                                   || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            // The patch itself is fine; only the LAN copy for the next PC is lost.
            Log.PushFailed(logger, patch.Name, server.Name, e.Message);
        }

        return new Obtained(Origin.Internet, result);
    }

    private async Task RenewLoopAsync(IServerChannel server, LookupResult claim, ByteProgress progress, CancellationToken ct)
    {
        var period = TimeSpan.FromMilliseconds(Math.Max(100, claim.LeaseMs / 3));
        try
        {
            using var timer = new PeriodicTimer(period, time);
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    if (!await server.RenewAsync(claim.ClaimId, progress.Value, ct).ConfigureAwait(false))
                    {
                        Log.ClaimLost(logger, claim.ClaimId);
                        return;
                    }
                }
                catch (LanUnavailableException e)
                {
                    Log.RenewFailed(logger, claim.ClaimId, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // download finished
        }
    }

    private async Task<Obtained> DirectAsync(PatchSpec patch, string reason, CancellationToken ct)
    {
        stats.ServerFallback();
        events.Add(NodeEventKinds.Fallback, $"{patch.Name}: {reason}");
        Log.Fallback(logger, patch.Name, reason);
        var progress = new ByteProgress();
        activity.Set(patch.Name, "internet", patch.Size, progress);
        var result = await internet.DownloadAsync(patch, progress, ct).ConfigureAwait(false);
        return new Obtained(Origin.Internet, result);
    }

    private static PatchOutcome Outcome(PatchSpec patch, Obtained obtained, bool applied, string? error) =>
        new(patch.OsVersion, patch.Name, patch.Sha256, obtained.Result.Bytes, obtained.From, applied, error);

    /// <summary>Where the bytes came from (<see cref="Origin"/>) and how the transfer went.</summary>
    internal sealed record Obtained(string From, FetchResult Result);
}
