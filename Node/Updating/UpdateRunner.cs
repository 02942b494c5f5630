using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Updating;

/// <summary>
/// Runs update passes, one at a time per node: read every source's list for this OS, skip what this node has
/// applied, and take each remaining patch through <see cref="PatchPipeline"/>: obtained several at a time
/// (<see cref="ObtainWindow"/>, <see cref="UpdatingOptions.ObtainConcurrency"/>), verified and applied one at a time
/// in list order. A source that fails in any way (unreachable, truncated, stalled, unparsable) is that source's error
/// and the pass goes on with the others.
/// A pass ends when its caller cancels it or at <see cref="UpdatingOptions.PassDeadline"/>; a new pass waits at most
/// <see cref="UpdatingOptions.PassLockWait"/> for a running one (<see cref="TryEnterAsync"/>).
/// </summary>
internal sealed partial class UpdateRunner(
    IEnumerable<IPatchSource> sources,
    PatchPipeline pipeline,
    PatchDatabase db,
    NodeIdentity self,
    UpdatingOptions options,
    NodeEvents events,
    ProgressBoard board,
    IRandomSource random,
    TimeProvider time,
    ILogger<UpdateRunner> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile RunningPass? _current;

    public bool Running => _gate.CurrentCount == 0;

    /// <summary>The last pass that ended on this node (null before the first), for the status page and diag.</summary>
    public Protocol.Status.PassStatus? LastPass { get; private set; }

    /// <summary>Raised at the end of every pass that was not a dry run: each listed patch's state (for compliance reports).</summary>
    public event Action<PassStates>? PassEnded;

    /// <summary>The pass that holds the lock now, if any (for "a pass is already running" messages).</summary>
    public RunningPass? Current => _current;

    /// <summary>
    /// Takes the pass lock, waiting at most <see cref="UpdatingOptions.PassLockWait"/>; null when another pass still holds
    /// it then. Dispose the lease (or give it to <see cref="RunAsync(PassLease, Func{PatchOutcome, Task}?, bool, CancellationToken)"/>).
    /// </summary>
    public async Task<PassLease?> TryEnterAsync(CancellationToken ct)
    {
        using var wait = new CancellationTokenSource(options.PassLockWait, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, wait.Token);
        try
        {
            await _gate.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Log.Busy(logger, _current?.PassId ?? "?", options.PassLockWait.TotalSeconds);
            return null;
        }

        return new PassLease(this);
    }

    /// <summary>Takes the lock and runs a pass; null when another pass is running (see <see cref="Current"/>).</summary>
    public async Task<PassSummary?> RunAsync(Func<PatchOutcome, Task>? onOutcome, bool dryRun, CancellationToken ct)
    {
        using var lease = await TryEnterAsync(ct).ConfigureAwait(false);
        return lease is null ? null : await RunAsync(lease, onOutcome, dryRun, ct).ConfigureAwait(false);
    }

    /// <summary>Runs a pass under <paramref name="lease"/> (released at the end).</summary>
    /// <param name="dryRun">Obtain and verify every patch, stage what stages, apply and install nothing.</param>
    /// <param name="ct">The caller: cancelling it ends the pass (an <see cref="OperationCanceledException"/>).</param>
    public async Task<PassSummary> RunAsync(PassLease lease, Func<PatchOutcome, Task>? onOutcome, bool dryRun, CancellationToken ct)
    {
        using var _ = lease;
        var passId = random.NextId().ToString("x16", System.Globalization.CultureInfo.InvariantCulture)[..8];
        _current = new RunningPass(passId, time.GetUtcNow(), time.GetUtcNow() + options.PassDeadline);
        using var deadline = new CancellationTokenSource(options.PassDeadline, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["PassId"] = passId });
        using var listed = board.Track(ProgressBoard.Pass, passId, lease.Progress);
        Log.PassStarted(logger, passId, self.OsVersion);
        try
        {
            return await RunPassAsync(passId, lease.Progress, onOutcome, dryRun, linked.Token, deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Log.PassCancelled(logger, passId);
            events.Add(Protocol.Status.NodeEventKinds.Pass, $"pass {passId}: cancelled by its caller");
            throw;
        }
        finally
        {
            _current = null;
        }
    }

    private async Task<PassSummary> RunPassAsync(string passId, PatchProgress progress, Func<PatchOutcome, Task>? onOutcome, bool dryRun, CancellationToken ct, CancellationTokenSource deadline)
    {
        var errors = new List<string>();
        var patches = new List<(IPatchSource Source, PatchSpec Patch)>();
        string? stopped = null;
        foreach (var source in sources)
        {
            try
            {
                patches.AddRange((await source.GetPatchesAsync(self.OsVersion, ct).ConfigureAwait(false)).Select(p => (source, p)));
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                stopped = Stopped($"while reading {source.Description}");
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // One source's failure of any kind (I/O, timeout, parse, a bug) is that source's error.
                var error = e is PatchSourceException ? e.Message : $"{e.GetType().Name}: {e.Message}";
                errors.Add($"{source.Description}: {error}");
                Log.SourceFailed(logger, source.Description, error);
            }
        }

        int applied = 0, failed = errors.Count, skipped = 0, ready = 0, held = 0;
        long lanBytes = 0, internetBytes = 0;
        var outcomes = new List<(IPatchSource Source, PatchOutcome Outcome)>();
        var alreadyApplied = new HashSet<string>(StringComparer.Ordinal);
        var todo = new List<(IPatchSource Source, PatchSpec Patch)>();
        var deferred = new List<int>();
        foreach (var (source, patch) in patches)
        {
            // A staged patch (apt: copied into apt's cache) is installed by its source's last step, and the source's own
            // state says whether it was (apt lists only what is not installed): no record of ours makes it skip one.
            if (!patch.Apply.Stages && db.IsApplied(patch.OsVersion, patch.Name, patch.Sha256))
            {
                skipped++;
                alreadyApplied.Add(patch.Name);
            }
            else
            {
                todo.Add((source, patch));
            }
        }

        // Obtained several at a time (ObtainWindow), verified and applied one at a time in list order.
        var window = stopped is null && todo.Count > 0
            ? new ObtainWindow(pipeline, [.. todo.Select(t => t.Patch)], options.ObtainConcurrency, random, board, passId, ct)
            : null;
        // Disposed when the pass ends, after the source's last step and the pushes (disposing cancels the pushes).
        await using var obtaining = window;
        for (var i = 0; i < todo.Count && stopped is null; i++)
        {
            var (source, patch) = todo[i];
            PatchOutcome outcome;
            try
            {
                // Until its worker starts on it, the pass shows it as waiting; then that worker's progress.
                progress.Set(patch.Name, ProgressStage.Waiting, patch.Size);
                progress.Follow(window!.ProgressOf(i));
                var prepared = await window.WaitAsync(i, ct).ConfigureAwait(false);
                progress.Follow(null);
                outcome = await pipeline.FinishAsync(prepared, dryRun, progress, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                stopped = Stopped($"during {patch.Name}; {todo.Count - i - 1} more patches not tried");
                outcome = new PatchOutcome(patch.OsVersion, patch.Name, patch.Sha256, 0, null, false, $"the pass deadline ({options.PassDeadline}) passed");
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // A bug or an unforeseen failure in one patch must not end the pass.
                Log.PatchCrashed(logger, patch.Name, e);
                outcome = new PatchOutcome(patch.OsVersion, patch.Name, patch.Sha256, 0, null, false, $"internal error: {e.Message}");
            }
            finally
            {
                progress.Follow(null);
                progress.Clear();
            }

            outcomes.Add((source, outcome));
            if (outcome.Applied)
            {
                applied++;
            }
            else if (outcome.DryRun && outcome.Error is null)
            {
                ready++;
            }
            else if (outcome.HeldBy is not null)
            {
                held++; // the LAN's policy holds it: not a failure
            }
            else
            {
                failed++;
            }

            if (outcome.From == Origin.Lan)
            {
                lanBytes += outcome.Bytes;
            }
            else
            {
                internetBytes += outcome.Bytes;
            }

            if (onOutcome is not null && !(outcome.Applied && patch.Apply.Stages))
            {
                await onOutcome(outcome).ConfigureAwait(false);
            }
            else if (outcome.Applied && patch.Apply.Stages)
            {
                deferred.Add(i); // staged, not installed yet: streamed once its source's last step says what it is
            }
        }

        // The source's last step for the batch (apt installs what was staged); a failure fails the pass. A pass stopped
        // at its deadline skips it: there is no time left to install anything.
        var completed = new HashSet<IPatchSource>();
        foreach (var source in stopped is null ? sources : [])
        {
            var mine = outcomes.Where(o => o.Source == source).Select(o => o.Outcome).ToList();
            string? error;
            try
            {
                error = await source.CompletePassAsync(mine, dryRun, ct).ConfigureAwait(false);
                if (error is null && !dryRun && mine.Any(o => o.Applied))
                {
                    // Installed is what the source says is in place now, not what it was handed (apt keeps some back).
                    var notInstalled = await source.NotInstalledAsync([.. mine.Where(o => o.Applied)], ct).ConfigureAwait(false);
                    for (var i = 0; i < outcomes.Count; i++)
                    {
                        if (outcomes[i].Source == source && outcomes[i].Outcome is { Applied: true } staged && notInstalled.TryGetValue(staged.Patch, out var why))
                        {
                            outcomes[i] = (source, staged with { Applied = false, Error = why });
                            applied--;
                            failed++;
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                stopped = Stopped($"while {source.Description} completed the pass");
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                error = e is PatchSourceException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            }

            completed.Add(source);
            if (error is not null)
            {
                errors.Add($"{source.Description}: {error}");
                failed++;
                Log.SourceFailed(logger, source.Description, error);

                // What it staged was not installed: those patches failed (the outcomes streamed so far said "staged").
                for (var i = 0; i < outcomes.Count; i++)
                {
                    if (outcomes[i].Source == source && outcomes[i].Outcome is { Applied: true } staged)
                    {
                        outcomes[i] = (source, staged with { Applied = false, Error = $"staged, but not installed: {error}" });
                        applied--;
                        failed++;
                    }
                }
            }
        }

        // The pass ends once the LAN copies it owes are on the server (or failed, as logged): its downloads' claims are
        // held until then. The pushes never fault; the deadline bounds them. A stopped pass does not wait: the
        // deadline that stopped it cancelled them.
        if (stopped is null && window?.Pushes() is { Count: > 0 } pushes)
        {
            Log.AwaitingPushes(logger, passId, pushes.Count);
            try
            {
                await pushes.AllDone.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                Log.PushesCut(logger, passId); // every patch was done: not a stopped pass, only LAN copies lost
            }
        }

        if (stopped is not null)
        {
            failed++;
            Log.PassStopped(logger, passId, stopped);

            // A staged patch whose source never completed the pass (no install ran) is not applied.
            for (var i = 0; i < outcomes.Count; i++)
            {
                // outcomes[i] is todo[i]'s: one outcome per patch tried, added in todo's order.
                if (outcomes[i].Outcome is { Applied: true } staged && todo[i].Patch.Apply.Stages && !completed.Contains(outcomes[i].Source))
                {
                    outcomes[i] = (outcomes[i].Source, staged with { Applied = false, Error = $"staged, but not installed: {stopped}" });
                    applied--;
                    failed++;
                }
            }
        }

        if (onOutcome is not null)
        {
            foreach (var i in deferred)
            {
                await onOutcome(outcomes[i].Outcome).ConfigureAwait(false);
            }
        }

        var summary = new PassSummary(passId, applied, failed, skipped, lanBytes, internetBytes, errors, dryRun, ready, stopped, held);
        LastPass = new Protocol.Status.PassStatus(
            passId, time.GetUtcNow(), dryRun, applied, ready, failed, skipped, stopped,
            [.. errors.Concat(outcomes.Where(o => !o.Outcome.Applied && o.Outcome.Error is not null).Select(o => $"{o.Outcome.Patch}: {o.Outcome.Error}"))
                .Take(Protocol.Status.PassStatus.MaxFailures)
                .Select(f => Protocol.Text.LogText.Sanitize(f.Length > Protocol.Status.PassStatus.MaxFailureChars ? f[..Protocol.Status.PassStatus.MaxFailureChars] + "…" : f))]);
        if (!dryRun)
        {
            PassEnded?.Invoke(PassStates.From(passId, time.GetUtcNow(), patches.Select(p => p.Patch.Name), alreadyApplied, outcomes.Select(o => o.Outcome)));
        }

        Log.PassFinished(logger, passId, applied, failed, skipped, lanBytes, internetBytes);
        events.Add(Protocol.Status.NodeEventKinds.Pass, $"pass {passId}: {applied} applied, {failed} failed, {skipped} already applied; {lanBytes} bytes from the LAN, {internetBytes} from the internet{(stopped is null ? "" : "; stopped: " + stopped)}");
        return summary;
    }

    private string Stopped(string where) => $"the pass deadline ({options.PassDeadline}) passed {where}";

    private void Release() => _gate.Release();

    /// <summary>
    /// The pass lock, held from <see cref="TryEnterAsync"/> to the end of the pass; released once. It carries the
    /// pass's own <see cref="Progress"/>, so that whoever holds the lease (POST /v1/update) follows its pass and no other.
    /// </summary>
    internal sealed class PassLease(UpdateRunner runner) : IDisposable
    {
        private int _released;

        /// <summary>The patch and stage the pass is on now.</summary>
        public PatchProgress Progress { get; } = new();

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                runner.Release();
            }
        }
    }

    /// <summary>The running pass: its id, when it started, and when its deadline ends it.</summary>
    internal sealed record RunningPass(string PassId, DateTimeOffset Started, DateTimeOffset Deadline);

    private static partial class Log
    {
        [LoggerMessage(EventId = 430, Level = LogLevel.Information, Message = "update pass {PassId} started for {Os}")]
        public static partial void PassStarted(ILogger logger, string passId, string os);

        [LoggerMessage(EventId = 431, Level = LogLevel.Information, Message = "update pass {PassId} done: {Applied} applied, {Failed} failed, {Skipped} already applied; {LanBytes} bytes from the LAN, {InternetBytes} from the internet")]
        public static partial void PassFinished(ILogger logger, string passId, int applied, int failed, int skipped, long lanBytes, long internetBytes);

        [LoggerMessage(EventId = 433, Level = LogLevel.Error, Message = "{Patch}: unexpected failure")]
        public static partial void PatchCrashed(ILogger logger, string patch, Exception exception);

        [LoggerMessage(EventId = 432, Level = LogLevel.Error, Message = "patch source {Source} failed: {Error}")]
        public static partial void SourceFailed(ILogger logger, string source, string error);

        [LoggerMessage(EventId = 434, Level = LogLevel.Warning, Message = "update pass {PassId} stopped: {Reason}")]
        public static partial void PassStopped(ILogger logger, string passId, string reason);

        [LoggerMessage(EventId = 435, Level = LogLevel.Warning, Message = "update pass {PassId} cancelled by its caller (the request that started it went away, or the node is stopping)")]
        public static partial void PassCancelled(ILogger logger, string passId);

        [LoggerMessage(EventId = 436, Level = LogLevel.Warning, Message = "a pass is already running ({PassId}); a new one waited {Wait:0.###} s and was refused")]
        public static partial void Busy(ILogger logger, string passId, double wait);

        [LoggerMessage(EventId = 447, Level = LogLevel.Information, Message = "update pass {PassId}: every patch is done; waiting for {Count} pushes to the LAN server")]
        public static partial void AwaitingPushes(ILogger logger, string passId, int count);

        [LoggerMessage(EventId = 448, Level = LogLevel.Warning, Message = "update pass {PassId}: the deadline passed while its downloads were pushed to the LAN server; those LAN copies are lost (the next PC downloads them)")]
        public static partial void PushesCut(ILogger logger, string passId);
    }
}
