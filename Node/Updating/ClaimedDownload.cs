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
/// <para>
/// The claim follows the LAN's server, not the one that granted it: when an election (or a restart) gives the LAN
/// another server, the holder renews at once to the new one, naming the patch, so that server adopts the claim
/// during its settle time instead of granting the same patch to another PC (one internet download per patch across
/// a failover); the cut-through push moves to the new server, and the final push goes there too.
/// </para>
/// </summary>
internal sealed class ClaimedDownload(InternetDownloader internet, IServerChannelProvider servers, string nodeId, TimeProvider time, ILogger logger)
{
    /// <summary>Renewals come at least this far apart, whatever lease the server names.</summary>
    internal static readonly TimeSpan MinRenewPeriod = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Downloads the patch under <paramref name="claim"/>. Returns once the download has ended: its result, and the
    /// rest of the claim's work (<see cref="ClaimedFetch.Pushed"/>: the push to the server, with renewals until it
    /// lands, or the release of a failed download), which the caller awaits when it likes. A pass's worker goes on to
    /// its next patch meanwhile: on a slowed test LAN a holder's workers sat 60 to 90 s in pushes to a busy server
    /// while the rest of its own patches waited. <see cref="ClaimedFetch.Pushed"/> never faults; it ends with
    /// <paramref name="ct"/>.
    /// </summary>
    public async Task<ClaimedFetch> RunAsync(IServerChannel server, PatchSpec patch, LookupResult claim, PatchProgress progress, CancellationToken ct)
    {
        PipelineLog.Downloading(logger, patch.Name, patch.Url, claim.ClaimId);
        var bytes = new ByteProgress();
        progress.Set(patch.Name, ProgressStage.Internet, patch.Size, bytes);
        var rate = new RateAllowance(claim.RateLimit); // this node's share of the LAN-wide internet cap, renewed with the claim

        // Cut-through: the push follows the download as it is written, so waiters get the bytes from the server now.
        // Both outlive this method when the download succeeds: PushAfterDownloadAsync disposes them.
        var holding = new Holding(server, patch, ct);
        var renewing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var renewals = RenewLoopAsync(holding, patch, claim, bytes, rate, renewing.Token);
        var owned = new Claimed(holding, renewing, renewals);

        FetchResult result;
        try
        {
            result = await internet.DownloadAsync(patch, bytes, rate, ct).ConfigureAwait(false);
        }
        catch
        {
            // The pass was cancelled or hit its deadline: no push follows. The renew loop ends first, so it cannot
            // move the push to a new server after this stop.
            await owned.StopRenewingAsync().ConfigureAwait(false);
            await holding.StopStreamAsync().ConfigureAwait(false);
            owned.Dispose();
            throw;
        }

        if (!result.Ok)
        {
            try
            {
                await owned.StopRenewingAsync().ConfigureAwait(false);
                await holding.StopStreamAsync().ConfigureAwait(false);
                await PushOrReleaseAsync(holding, patch, claim, result, ct).ConfigureAwait(false); // the release
            }
            finally
            {
                owned.Dispose();
            }

            return new ClaimedFetch(result, Task.CompletedTask);
        }

        // The claim covers the push as well: until the bytes land on the server it has nothing to give the waiters,
        // and a claim that lapsed meanwhile would be granted to another PC, a second internet download. On a slowed
        // test LAN pushes ended up to 95 s after their downloads (a PC's upload shared with its serving, the server's
        // download with every push) and 11 of 25 patches were downloaded twice or more. The renewals go on until
        // the push is done; the push no longer moves (a change from now on is handled in PushOrReleaseAsync).
        holding.Settle();
        return new ClaimedFetch(result, PushAfterDownloadAsync(owned, patch, claim, result, ct));
    }

    /// <summary>The push after a download that succeeded, then the end of the renewals; logs what fails, never throws.</summary>
    private async Task PushAfterDownloadAsync(Claimed owned, PatchSpec patch, LookupResult claim, FetchResult result, CancellationToken ct)
    {
        try
        {
            try
            {
                await PushOrReleaseAsync(owned.Holding, patch, claim, result, ct).ConfigureAwait(false);
            }
            finally
            {
                await owned.StopRenewingAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            PipelineLog.PushFailed(logger, patch.Name, owned.Holding.Server.Name, "the pass ended first"); // the claim lapses with its lease
        }
        catch (Exception e)
        {
            PipelineLog.PushFailed(logger, patch.Name, owned.Holding.Server.Name, $"{e.GetType().Name}: {e.Message}");
        }
        finally
        {
            owned.Dispose();
        }
    }

    private async Task<FetchResult> PushOrReleaseAsync(Holding holding, PatchSpec patch, LookupResult claim, FetchResult result, CancellationToken ct)
    {
        var bodySent = await holding.Stream.ConfigureAwait(false);
        var target = holding.Server;
        if (servers.Current is { } now && !ReferenceEquals(now, target))
        {
            // The server changed as the download ended: the new one gets the bytes (its claim was adopted, or not).
            PipelineLog.ClaimFollows(logger, patch.Name, claim.ClaimId, target.Name, now.Name);
            (target, bodySent) = (now, false);
        }

        try
        {
            if (!result.Ok)
            {
                await target.ReleaseAsync(claim.ClaimId, result.Error ?? "download failed", ct).ConfigureAwait(false);
            }
            else if (await target.PushAsync(patch, claim.ClaimId, bodySent, ct).ConfigureAwait(false))
            {
                PipelineLog.Pushed(logger, patch.Name, target.Name);
            }
        }
        catch (Exception e) when (e is LanUnavailableException or HttpRequestException or IOException
                                   || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            // The patch itself is fine; only the LAN copy for the next PC is lost.
            PipelineLog.PushFailed(logger, patch.Name, target.Name, e.Message);
        }

        return result;
    }

    /// <summary>
    /// Renews every third of the lease (as the server answering names it), through the download and then the push,
    /// and at once when the cluster's view changes or a channel opens a new session (a restarted server forgot the
    /// claim); during the download a renewal goes to the server of the moment, which the cut-through push then follows. A change abandons a renewal still waiting on the old server
    /// (dead, it would hold the move for its whole timeout, past the new server's settle time), and a refused renewal
    /// is sent again at once when the server has changed meanwhile. Ends when the push is done, or when the server
    /// says the claim is gone.
    /// </summary>
    private async Task RenewLoopAsync(Holding holding, PatchSpec patch, LookupResult claim, ByteProgress progress, RateAllowance rate, CancellationToken ct)
    {
        var period = RenewPeriod(claim.LeaseMs);
        var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Changed() => Volatile.Read(ref wake).TrySetResult();
        void Opened(IServerChannel _) => Changed();
        servers.ServerMayHaveChanged += Changed;
        servers.SessionOpened += Opened;
        try
        {
            var changed = false;
            while (true)
            {
                if (!changed)
                {
                    var woken = Volatile.Read(ref wake).Task;
                    using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    if (await Task.WhenAny(Task.Delay(period, time, tick.Token), woken).ConfigureAwait(false) == woken)
                    {
                        changed = true;
                    }

                    await tick.CancelAsync().ConfigureAwait(false);
                }

                if (changed)
                {
                    // Reset before reading the server below: a change after this point wakes the next round.
                    Volatile.Write(ref wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                }

                ct.ThrowIfCancellationRequested();
                if (!holding.Settled && servers.Current is { } current)
                {
                    if (!ReferenceEquals(current, holding.Server))
                    {
                        PipelineLog.ClaimFollows(logger, patch.Name, claim.ClaimId, holding.Server.Name, current.Name);
                        await holding.MoveToAsync(current).ConfigureAwait(false);
                    }
                    else if (changed && holding.Stream.IsCompletedSuccessfully && !holding.Stream.Result)
                    {
                        await holding.MoveToAsync(current).ConfigureAwait(false); // a new session (a restart?): push the stream again
                    }
                }

                changed = false;
                var next = Volatile.Read(ref wake).Task;
                var asked = holding.Server;
                try
                {
                    var renew = new ClaimRenew(claim.ClaimId, progress.Value, patch.OsVersion, patch.Name, patch.Sha256, patch.Size, nodeId);
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    var asking = time.GetTimestamp();
                    var renewing = asked.RenewClaimAsync(renew, attempt.Token);
                    if (await Task.WhenAny(renewing, next).ConfigureAwait(false) != renewing)
                    {
                        PipelineLog.RenewAbandoned(logger, claim.ClaimId, asked.Name, time.GetElapsedTime(asking).TotalMilliseconds);
                        await attempt.CancelAsync().ConfigureAwait(false);
                        _ = renewing.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                        changed = true; // the server may have changed while this one did not answer: go again now
                        continue;
                    }

                    var ack = await renewing.ConfigureAwait(false);
                    PipelineLog.Renewed(logger, claim.ClaimId, asked.Name, renew.BytesDone, time.GetElapsedTime(asking).TotalMilliseconds);
                    if (!ack.Ok)
                    {
                        if (holding.Settled)
                        {
                            PipelineLog.ClaimEnded(logger, claim.ClaimId, asked.Name); // the push landed (the server ends the claim then), or it lapsed
                        }
                        else
                        {
                            PipelineLog.ClaimLost(logger, claim.ClaimId);
                        }

                        return;
                    }

                    rate.BytesPerSecond = ack.RateLimit;
                    period = ack.LeaseMs > 0 ? RenewPeriod(ack.LeaseMs) : period; // the lease of the server holding the claim now
                }
                catch (LanUnavailableException e)
                {
                    PipelineLog.RenewFailed(logger, claim.ClaimId, e.Message);
                    changed = servers.Current is { } now && !ReferenceEquals(now, asked); // refused by a server that is no longer the one
                }
            }
        }
        catch (OperationCanceledException)
        {
            // download finished
        }
        finally
        {
            servers.ServerMayHaveChanged -= Changed;
            servers.SessionOpened -= Opened;
        }
    }

    private static TimeSpan RenewPeriod(int leaseMs) => TimeSpan.FromMilliseconds(Math.Max(MinRenewPeriod.TotalMilliseconds, leaseMs / 3.0));

    /// <summary>What a claim's download leaves running: the push, its cancellation and the renew loop.</summary>
    private sealed class Claimed(Holding holding, CancellationTokenSource renewing, Task renewals) : IDisposable
    {
        public Holding Holding => holding;

        public async Task StopRenewingAsync()
        {
            await renewing.CancelAsync().ConfigureAwait(false);
            await renewals.ConfigureAwait(false);
        }

        public void Dispose()
        {
            holding.Dispose();
            renewing.Dispose();
        }
    }

    /// <summary>The server the claim is held with now, and the cut-through push to it.</summary>
    private sealed class Holding : IDisposable
    {
        private readonly PatchSpec _patch;
        private readonly CancellationToken _ct;
        private CancellationTokenSource _pushing;
        private bool _settled;

        public Holding(IServerChannel server, PatchSpec patch, CancellationToken ct)
        {
            (_patch, _ct) = (patch, ct);
            _pushing = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Server = server;
            Stream = server.StreamPushAsync(patch, _pushing.Token);
        }

        public IServerChannel Server { get; private set; }

        /// <summary>The cut-through push to <see cref="Server"/>: true when it delivered the body.</summary>
        public Task<bool> Stream { get; private set; }

        /// <summary>The claim moves to <paramref name="server"/>: the push to the old one stops, one to the new one starts from the first byte.</summary>
        public async Task MoveToAsync(IServerChannel server)
        {
            await StopStreamAsync().ConfigureAwait(false);
            _pushing.Dispose();
            _pushing = CancellationTokenSource.CreateLinkedTokenSource(_ct);
            Server = server;
            Stream = server.StreamPushAsync(_patch, _pushing.Token);
        }

        public Task StopStreamAsync() => _pushing.CancelAsync();

        /// <summary>The download is done: the push stays with <see cref="Server"/> (renewals go on, moves stop).</summary>
        public bool Settled => Volatile.Read(ref _settled);

        public void Settle() => Volatile.Write(ref _settled, true);

        public void Dispose() => _pushing.Dispose();
    }
}

/// <summary>A claim's download (<see cref="Result"/>) and the push that follows it (<see cref="Pushed"/>; never faults).</summary>
internal readonly record struct ClaimedFetch(FetchResult Result, Task Pushed);
