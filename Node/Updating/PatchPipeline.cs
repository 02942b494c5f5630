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
/// One patch through the method, as explicit steps: lookup (<see cref="ServerLookup"/>); then, as
/// <see cref="ObtainPolicy"/> decides from the answer, a LAN fetch (hit), a download under a claim and a push
/// (<see cref="ClaimedDownload"/>, miss), or a wait for another node's claim (in flight: stream its bytes through the
/// server, or ask again later); whatever goes wrong on the LAN side (server gone, slow, refusing, serving bad bytes)
/// ends in a direct internet download, logged as such. Then verify (the local copy once more against the upstream
/// list's SHA-256) and apply (the list's command). Each step's expected failures are results, not exceptions.
/// </summary>
internal sealed partial class PatchPipeline
{
    private static readonly TimeSpan ElectionWait = TimeSpan.FromSeconds(3);

    private readonly BlobStore _store;
    private readonly PatchDatabase _db;
    private readonly IServerChannelProvider _servers;
    private readonly InternetDownloader _internet;
    private readonly LanFetcher _lan;
    private readonly SwarmFetcher _swarm;
    private readonly IPatchApplier _applier;
    private readonly NodeIdentity _self;
    private readonly UpdatingOptions _options;
    private readonly NodeStats _stats;
    private readonly NodeEvents _events;
    private readonly ProgressBoard _board;
    private readonly IRandomSource _random;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ClaimedDownload _claimed;
    private readonly LanPatience _patience;
    private readonly PolicyGuard _policy;

    public PatchPipeline(
        BlobStore store,
        PatchDatabase db,
        IServerChannelProvider servers,
        InternetDownloader internet,
        LanFetcher lan,
        SwarmFetcher swarm,
        IPatchApplier applier,
        NodeIdentity self,
        UpdatingOptions options,
        NodeStats stats,
        NodeEvents events,
        ProgressBoard board,
        PolicyGuard policy,
        IRandomSource random,
        TimeProvider time,
        ILogger<PatchPipeline> logger)
    {
        _policy = policy;
        (_store, _db, _servers, _internet, _lan, _swarm, _applier, _self, _options) = (store, db, servers, internet, lan, swarm, applier, self, options);
        (_stats, _events, _board, _random, _time, _logger) = (stats, events, board, random, time, logger);
        _claimed = new ClaimedDownload(internet, servers, self.NodeId, time, logger);
        _patience = new LanPatience(options.LanPatience, servers, time);
    }

    /// <summary>Obtains, verifies and applies <paramref name="patch"/>, showing its stages in <paramref name="progress"/> (cleared at the end).</summary>
    /// <param name="dryRun">Obtain and verify, run a staging step (<see cref="ApplySpec.Stages"/>), apply nothing else.</param>
    public async Task<PatchOutcome> RunAsync(PatchSpec patch, bool dryRun, PatchProgress progress, CancellationToken ct)
    {
        var prepared = await PrepareAsync(patch, progress, setAsideInFlight: false, ct).ConfigureAwait(false);
        var outcome = await FinishAsync(prepared, dryRun, progress, ct).ConfigureAwait(false);
        await (prepared.Obtained?.Pushed ?? Task.CompletedTask).ConfigureAwait(false); // one patch: done when its LAN copy is
        return outcome;
    }

    /// <summary>
    /// The first half of <see cref="RunAsync"/>, which a pass runs for several patches at once: the policy's say, then
    /// the bytes into this node's store (<see cref="ObtainAsync(PatchSpec, PatchProgress, bool, CancellationToken)"/>).
    /// </summary>
    /// <param name="setAsideInFlight">
    /// When the server answers that another node is downloading the patch, give it back (<see cref="Prepared.SetAside"/>)
    /// instead of waiting: the pass asks again once its other patches have started.
    /// </param>
    public async Task<Prepared> PrepareAsync(PatchSpec patch, PatchProgress progress, bool setAsideInFlight, CancellationToken ct)
    {
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["Patch"] = patch.Name, ["PatchHash"] = patch.Sha256 });
        try
        {
            if (patch.Unverifiable is { } why)
            {
                // The source listed it without a trustworthy SHA-256: never fetched, counted failed with the reason.
                PipelineLog.Failed(_logger, patch.Name, why);
                return Prepared.Done(patch, new PatchOutcome(patch.OsVersion, patch.Name, patch.Sha256, 0, null, false, why));
            }

            // The LAN's policy first: a patch not eligible here (ring 0 first, held by admin) is held: no lookup, no bytes.
            if (_policy.HeldBy(patch) is { } held)
            {
                PipelineLog.Held(_logger, patch.Name, held);
                return Prepared.Done(patch, new PatchOutcome(patch.OsVersion, patch.Name, patch.Sha256, 0, null, false, null, HeldBy: held));
            }

            var obtained = await ObtainAsync(patch, progress, setAsideInFlight, ct).ConfigureAwait(false);
            if (ReferenceEquals(obtained, Obtained.InFlightElsewhere))
            {
                return Prepared.Later(patch);
            }

            if (obtained.HeldBy is { } budget)
            {
                PipelineLog.Held(_logger, patch.Name, budget);
                return Prepared.Done(patch, new PatchOutcome(patch.OsVersion, patch.Name, patch.Sha256, 0, null, false, null, HeldBy: budget));
            }

            if (!obtained.Result.Ok)
            {
                PipelineLog.Failed(_logger, patch.Name, obtained.Result.Error);
                return Prepared.Done(patch, Outcome(patch, obtained, applied: false, obtained.Result.Error));
            }

            return new Prepared(patch, obtained, null);
        }
        finally
        {
            progress.Clear();
        }
    }

    /// <summary>
    /// The second half of <see cref="RunAsync"/>, one patch at a time: verify the bytes <see cref="PrepareAsync"/>
    /// obtained (once more, against the upstream list's SHA-256) and apply them by the list's command.
    /// </summary>
    public async Task<PatchOutcome> FinishAsync(Prepared prepared, bool dryRun, PatchProgress progress, CancellationToken ct)
    {
        try
        {
            return await FinishCoreAsync(prepared, dryRun, progress, ct).ConfigureAwait(false);
        }
        finally
        {
            _store.EndUse(prepared.Patch.Sha256, InUseBy(prepared.Patch)); // applied, staged into the source's own cache, or failed: evictable again
        }
    }

    /// <summary>Who marks a blob in use (<see cref="BlobStore.MarkInUse"/>): the patch, since two patches of one pass may share a blob.</summary>
    private static string InUseBy(PatchSpec patch) => $"{patch.OsVersion}/{patch.Name}";

    /// <summary>
    /// A claim's push, going on after its download (<see cref="ClaimedFetch.Pushed"/>): the blob stays in use until it
    /// ends, whatever the pass does with the patch meanwhile (applied, or failed, the store may not evict what is being
    /// sent).
    /// </summary>
    private Task KeepForPush(PatchSpec patch, ClaimedFetch claimed)
    {
        if (claimed.Pushed.IsCompleted)
        {
            return claimed.Pushed;
        }

        var user = "push " + InUseBy(patch);
        try
        {
            _store.MarkInUse(patch.Sha256, user);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Its last-use time not written (a database error): the push goes on all the same, unmarked.
            PipelineLog.NotMarkedInUse(_logger, patch.Name, e.Message);
        }

        return EndUseAfter(claimed.Pushed);

        async Task EndUseAfter(Task pushed)
        {
            try
            {
                await pushed.ConfigureAwait(false);
            }
            finally
            {
                _store.EndUse(patch.Sha256, user);
            }
        }
    }

    private async Task<PatchOutcome> FinishCoreAsync(Prepared prepared, bool dryRun, PatchProgress progress, CancellationToken ct)
    {
        if (prepared.Outcome is { } done)
        {
            return done;
        }

        var (patch, obtained) = (prepared.Patch, prepared.Obtained ?? throw new InvalidOperationException($"{prepared.Patch.Name} was set aside, not obtained"));
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["Patch"] = patch.Name, ["PatchHash"] = patch.Sha256 });
        try
        {
            // The policy once more, right before applying: a hold the admin set while this patch was being obtained
            // (alongside others, maybe minutes ago) still stops it.
            if (_policy.HeldBy(patch) is { } held)
            {
                PipelineLog.Held(_logger, patch.Name, held);
                return Outcome(patch, obtained, applied: false, null) with { HeldBy = held }; // the bytes moved still count
            }

            if (await VerifyAsync(patch, progress, ct).ConfigureAwait(false) is { } error)
            {
                PipelineLog.Failed(_logger, patch.Name, error);
                return Outcome(patch, obtained, applied: false, error);
            }

            if (dryRun && !patch.Apply.Stages)
            {
                PipelineLog.DryRun(_logger, patch.Name, obtained.From);
                return Outcome(patch, obtained, applied: false, null) with { DryRun = true };
            }

            progress.Set(patch.Name, ProgressStage.Applying, patch.Size);
            var (ok, applyError) = await _applier.ApplyAsync(patch, _store.PathFor(patch.Sha256), ct).ConfigureAwait(false);
            if (!ok)
            {
                PipelineLog.Failed(_logger, patch.Name, applyError);
                return Outcome(patch, obtained, applied: false, applyError);
            }

            if (dryRun)
            {
                PipelineLog.DryRun(_logger, patch.Name, obtained.From);
                return Outcome(patch, obtained, applied: false, null) with { DryRun = true }; // staged only; not recorded as applied
            }

            try
            {
                if (!patch.Apply.Stages) // staged is not installed: the source's last step installs it (UpdateRunner)
                {
                    _db.MarkApplied(patch.OsVersion, patch.Name, patch.Sha256, _time.GetUtcNow());
                }
            }
            catch (Exception e)
            {
                // The installer ran and succeeded: the PC is patched whatever the database says (a full disk, SQLite
                // error 13). Reported as applied; only the record is missing, so the next pass applies it again.
                PipelineLog.NotRecorded(_logger, patch.Name, e);
            }

            _stats.PatchApplied();
            PipelineLog.Applied(_logger, patch.Name, obtained.From, obtained.Result.Bytes);
            return Outcome(patch, obtained, applied: true, null);
        }
        finally
        {
            progress.Clear();
        }
    }

    /// <summary>
    /// The verify step. Integrity: only bytes that hash to the upstream list's SHA-256 are applied. The store hashed
    /// them on the way in; they are hashed again if the file changed since. Null when they match, else why not.
    /// </summary>
    private async Task<string?> VerifyAsync(PatchSpec patch, PatchProgress progress, CancellationToken ct)
    {
        progress.Set(patch.Name, ProgressStage.Verifying, patch.Size);
        _store.MarkInUse(patch.Sha256, InUseBy(patch)); // about to be applied: no eviction takes it, at a store or a trim (a verified blob opens no stream)
        return _store.IsVerified(patch.Sha256) || await _store.VerifyAsync(patch.Sha256, ct).ConfigureAwait(false)
            ? null
            : "local copy no longer matches its SHA-256; not applied";
    }

    /// <summary>
    /// The apt proxy's way to serve a package it knows the hash of: <see cref="ObtainAsync(PatchSpec, PatchProgress, bool, CancellationToken)"/>
    /// with a progress of its own, listed on the <see cref="ProgressBoard"/> as a proxy fetch while it runs.
    /// </summary>
    internal async Task<Obtained> ObtainAsync(PatchSpec patch, CancellationToken ct)
    {
        var progress = new PatchProgress();
        using (_board.Track(ProgressBoard.Proxy, _board.NextProxyId(), progress))
        {
            var obtained = await ObtainAsync(patch, progress, setAsideInFlight: false, ct).ConfigureAwait(false);
            await obtained.Pushed.ConfigureAwait(false); // as before: the proxy's fetch ends with its LAN copy
            return obtained;
        }
    }

    /// <summary>
    /// Gets the patch's verified bytes into this node's store by the method (LAN server, claim, internet), without
    /// applying it: the update pass's first half. A loop that asks the server and carries out what
    /// <see cref="ObtainPolicy"/> makes of each answer, until one step ends with the bytes here (or a failure).
    /// </summary>
    /// <param name="setAsideInFlight">On a first "in flight" answer, return <see cref="Obtained.InFlightElsewhere"/> instead of waiting.</param>
    internal async Task<Obtained> ObtainAsync(PatchSpec patch, PatchProgress progress, bool setAsideInFlight, CancellationToken ct)
    {
        if (_store.Contains(patch.Sha256))
        {
            _store.MarkInUse(patch.Sha256, InUseBy(patch)); // in use from now: no eviction takes it until it is applied
            return Obtained.OwnCopy; // already on this node (own cache)
        }

        // During an election there is briefly no server: wait a little, then go to the internet.
        progress.Set(patch.Name, ProgressStage.Lookup, patch.Size);
        if ((_servers.Current ?? await _servers.WaitForServerAsync(ElectionWait, ct).ConfigureAwait(false)) is not { } first)
        {
            return await DirectAsync(patch, "no LAN server is known", progress, ct).ConfigureAwait(false);
        }

        var link = new ServerLookup(first, _servers, _stats, _time, _logger);
        var wait = new ClaimWait(_time.MonotonicNow(), _options.ClaimWaitMax);
        var lookup = new Lookup(patch.OsVersion, patch.Name, patch.Sha256, patch.Size, _self.NodeId);
        string? lanFailed = null; // why the LAN copy of a hit failed: the server is asked once more
        DateTimeOffset? busySince = null; // when a fetch first handed back because its sources were all busy
        var patient = false;
        while (true)
        {
            var asked = await link.LookupAsync(lookup, ct).ConfigureAwait(false);
            if (asked.Answer is not { } answer)
            {
                EndWait(wait); // the server went away while this node waited on a claim: that wait ends here
                if (await _patience.WaitAsync(ct).ConfigureAwait(false) is not { } left)
                {
                    return await DirectAsync(patch, asked.Unavailable!, progress, ct).ConfigureAwait(false);
                }

                if (!patient)
                {
                    PipelineLog.Patient(_logger, patch.Name, asked.Unavailable!, left.TotalSeconds);
                    patient = true;
                }

                link = new ServerLookup(_servers.Current ?? link.Server, _servers, _stats, _time, _logger); // maybe a new server
                continue;
            }

            _patience.Answered();

            if (answer.Outcome != LookupOutcome.InFlight)
            {
                EndWait(wait);
            }
            else if (setAsideInFlight)
            {
                PipelineLog.SetAside(_logger, patch.Name, answer.Size);
                return Obtained.InFlightElsewhere;
            }

            var server = link.Server;
            var step = ObtainPolicy.Decide(answer, server.IsLocal, _store.Contains(patch.Sha256), wait, _time.MonotonicNow());
            if (step is ObtainStep.StreamFromHolder stream)
            {
                if (await StreamAsync(server, stream.BlobUrl, patch, wait, progress, ct).ConfigureAwait(false) is { } streamed)
                {
                    return streamed;
                }

                step = ObtainPolicy.WaitOrGiveUp(answer, wait, _time.MonotonicNow());
            }

            switch (step)
            {
                case ObtainStep.UseOwnCopy:
                    return Obtained.OwnCopy;

                case ObtainStep.FetchFromLan when lanFailed is not null:
                    return await DirectAsync(patch, lanFailed, progress, ct).ConfigureAwait(false); // a hit again: the internet, as before

                case ObtainStep.FetchFromLan hit:
                    var fetched = await FetchHitAsync(server, hit, patch, progress, ct).ConfigureAwait(false);
                    if (fetched.Ok)
                    {
                        return new Obtained(Origin.Lan, fetched);
                    }

                    if (fetched.Busy && _time.MonotonicNow() - (busySince ??= _time.MonotonicNow()) < _swarm.BusyWaitMax)
                    {
                        // Every listed source was busy before a piece: no LAN failure. The server is asked for the holders
                        // of the moment (PCs that got the patch since, with free slots); all busy waits together stay
                        // within LanBusyWaitMax, then this counts as a failure like any other.
                        continue;
                    }

                    // The LAN copy was bad or unreachable. The server is asked once more before the internet: it drops a
                    // copy that failed its hash, so a miss now is downloaded under a claim, within the LAN's rate cap and
                    // daily quota (going straight out, three PCs took 3.1 MB/s under a 1 MB/s cap). Another hit: the internet.
                    _stats.LanFailure();
                    lanFailed = fetched.Error!;
                    continue;

                case ObtainStep.DownloadUnderClaim miss:
                    // The download is the patch's part; the push to the server goes on beside the pass (Obtained.Pushed).
                    var claimed = await _claimed.RunAsync(server, patch, miss.Claim, progress, ct).ConfigureAwait(false);
                    return new Obtained(Origin.Internet, claimed.Result) { Pushed = KeepForPush(patch, claimed) };

                case ObtainStep.Held held:
                    return Obtained.Held(held.Reason);

                case ObtainStep.Fallback giveUp:
                    EndWait(wait);
                    return await DirectAsync(patch, giveUp.Reason, progress, ct).ConfigureAwait(false);

                case ObtainStep.WaitAndAsk later:
                    if (wait.Begin(_time.MonotonicNow()))
                    {
                        _stats.ClaimWait();
                        progress.Set(patch.Name, ProgressStage.Waiting, patch.Size);
                    }

                    var delay = Backoff.Fixed(later.RetryAfter, ObtainPolicy.WaitJitter).Delay(1, _random.NextDouble());
                    PipelineLog.Waiting(_logger, patch.Name, answer.Size, delay.TotalMilliseconds);
                    await Task.Delay(delay, _time, ct).ConfigureAwait(false);
                    break;

                default:
                    throw new InvalidOperationException($"no step for {step}");
            }
        }
    }

    private static PatchOutcome Outcome(PatchSpec patch, Obtained obtained, bool applied, string? error) =>
        new(patch.OsVersion, patch.Name, patch.Sha256, obtained.Result.Bytes, obtained.From, applied, error);

    /// <summary>Where the bytes came from (<see cref="Origin"/>) and how the transfer went.</summary>
    internal sealed record Obtained(string From, FetchResult Result, string? HeldBy = null)
    {
        /// <summary>
        /// The push to the server of a patch this node downloaded under a claim, still going on (else completed); never
        /// faults, ends with the token the patch was obtained under. A pass awaits it before it ends.
        /// </summary>
        public Task Pushed { get; init; } = Task.CompletedTask;

        /// <summary>Already in this node's store: nothing moved.</summary>
        public static Obtained OwnCopy { get; } = new(Origin.Lan, FetchResult.Success(0));

        /// <summary>Another node is downloading it and the caller asked not to wait (set aside, asked for again later): nothing moved.</summary>
        public static Obtained InFlightElsewhere { get; } = new(Origin.Lan, FetchResult.Failure(0, "in flight elsewhere"));

        /// <summary>The LAN's internet budget holds the download (outside the window, quota used): nothing moved, not a failure.</summary>
        public static Obtained Held(string reason) => new(Origin.Internet, FetchResult.Failure(0, "held by policy: " + reason), reason);
    }

    /// <summary>
    /// A patch after <see cref="PrepareAsync"/>: obtained (its bytes in the store, to be verified and applied), done
    /// already (<see cref="Outcome"/>: held, failed, unverifiable), or set aside (neither: ask again later).
    /// </summary>
    internal sealed record Prepared(PatchSpec Patch, Obtained? Obtained, PatchOutcome? Outcome)
    {
        /// <summary>Another node is downloading it: neither obtained nor done.</summary>
        public bool SetAside => Obtained is null && Outcome is null;

        public static Prepared Done(PatchSpec patch, PatchOutcome outcome) => new(patch, null, outcome);

        public static Prepared Later(PatchSpec patch) => new(patch, null, null);
    }
}
