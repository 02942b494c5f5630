using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Transfer;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Updating;

/// <summary>
/// The claim step: this node got the claim for a patch nobody on the LAN has, so it downloads it from the internet,
/// renews the claim while it does (a third of the lease), pushes the bytes to the server as they are written
/// (cut-through, so waiters get them at once), and then reports the push done, or releases the claim when the
/// download failed. Only the download's result matters to the patch: a failed push loses the LAN copy for the next
/// PC, nothing else.
/// </summary>
internal sealed class ClaimedDownload(InternetDownloader internet, TimeProvider time, ILogger logger)
{
    /// <summary>Renewals come at least this far apart, whatever lease the server names.</summary>
    internal static readonly TimeSpan MinRenewPeriod = TimeSpan.FromMilliseconds(100);

    public async Task<FetchResult> RunAsync(IServerChannel server, PatchSpec patch, LookupResult claim, PatchProgress progress, CancellationToken ct)
    {
        PipelineLog.Downloading(logger, patch.Name, patch.Url, claim.ClaimId);
        var bytes = new ByteProgress();
        progress.Set(patch.Name, ProgressStage.Internet, patch.Size, bytes);
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var rate = new RateAllowance(claim.RateLimit); // this node's share of the LAN-wide internet cap, renewed with the claim
        var renewals = RenewLoopAsync(server, claim, bytes, rate, renewing.Token);

        // Cut-through: the push follows the download as it is written, so waiters get the bytes from the server now.
        using var pushing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var streamPush = server.StreamPushAsync(patch, pushing.Token);
        FetchResult result;
        try
        {
            result = await internet.DownloadAsync(patch, bytes, rate, ct).ConfigureAwait(false);
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
                PipelineLog.Pushed(logger, patch.Name, server.Name);
            }
        }
        catch (Exception e) when (e is LanUnavailableException or HttpRequestException or IOException
                                   || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            // The patch itself is fine; only the LAN copy for the next PC is lost.
            PipelineLog.PushFailed(logger, patch.Name, server.Name, e.Message);
        }

        return result;
    }

    private async Task RenewLoopAsync(IServerChannel server, LookupResult claim, ByteProgress progress, RateAllowance rate, CancellationToken ct)
    {
        var period = TimeSpan.FromMilliseconds(Math.Max(MinRenewPeriod.TotalMilliseconds, claim.LeaseMs / 3));
        try
        {
            using var timer = new PeriodicTimer(period, time);
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    var ack = await server.RenewClaimAsync(claim.ClaimId, progress.Value, ct).ConfigureAwait(false);
                    if (!ack.Ok)
                    {
                        PipelineLog.ClaimLost(logger, claim.ClaimId);
                        return;
                    }

                    rate.BytesPerSecond = ack.RateLimit;
                }
                catch (LanUnavailableException e)
                {
                    PipelineLog.RenewFailed(logger, claim.ClaimId, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // download finished
        }
    }
}
