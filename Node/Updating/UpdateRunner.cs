using Microsoft.Extensions.Logging;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Sources;
using PeerPatch.Storage;

namespace PeerPatch.Node.Updating;

/// <summary>
/// Runs update passes, one at a time per node: read every source's list for this OS, skip what this node has
/// applied, and take each remaining patch through <see cref="PatchPipeline"/> in list order.
/// </summary>
internal sealed partial class UpdateRunner(
    IEnumerable<IPatchSource> sources,
    PatchPipeline pipeline,
    PatchDatabase db,
    NodeIdentity self,
    Hosting.NodeEvents events,
    IRandomSource random,
    ILogger<UpdateRunner> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public bool Running => _gate.CurrentCount == 0;

    /// <param name="dryRun">Obtain and verify every patch, stage what stages, apply and install nothing.</param>
    public async Task<PassSummary> RunAsync(Func<PatchOutcome, Task>? onOutcome, bool dryRun, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var passId = random.NextId().ToString("x16", System.Globalization.CultureInfo.InvariantCulture)[..8];
            using var scope = logger.BeginScope(new Dictionary<string, object> { ["PassId"] = passId });
            Log.PassStarted(logger, passId, self.OsVersion);

            var errors = new List<string>();
            var patches = new List<(IPatchSource Source, PatchSpec Patch)>();
            foreach (var source in sources)
            {
                try
                {
                    patches.AddRange((await source.GetPatchesAsync(self.OsVersion, ct).ConfigureAwait(false)).Select(p => (source, p)));
                }
                catch (PatchSourceException e)
                {
                    errors.Add($"{source.Description}: {e.Message}");
                    Log.SourceFailed(logger, source.Description, e.Message);
                }
            }

            int applied = 0, failed = errors.Count, skipped = 0, ready = 0;
            long lanBytes = 0, internetBytes = 0;
            var outcomes = new List<(IPatchSource Source, PatchOutcome Outcome)>();
            foreach (var (source, patch) in patches)
            {
                if (db.IsApplied(patch.OsVersion, patch.Name, patch.Sha256))
                {
                    skipped++;
                    continue;
                }

                PatchOutcome outcome;
                try
                {
                    outcome = await pipeline.RunAsync(patch, dryRun, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // A bug or an unforeseen failure in one patch must not end the pass.
                    Log.PatchCrashed(logger, patch.Name, e);
                    outcome = new PatchOutcome(patch.OsVersion, patch.Name, patch.Sha256, 0, null, false, $"internal error: {e.Message}");
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

                if (onOutcome is not null)
                {
                    await onOutcome(outcome).ConfigureAwait(false);
                }
            }

            foreach (var source in sources)
            {
                // The source's last step for the batch (apt installs what was staged); a failure fails the pass.
                var mine = outcomes.Where(o => o.Source == source).Select(o => o.Outcome).ToList();
                if (await source.CompletePassAsync(mine, dryRun, ct).ConfigureAwait(false) is { } error)
                {
                    errors.Add($"{source.Description}: {error}");
                    failed++;
                    Log.SourceFailed(logger, source.Description, error);
                }
            }

            var summary = new PassSummary(passId, applied, failed, skipped, lanBytes, internetBytes, errors, dryRun, ready);
            Log.PassFinished(logger, passId, applied, failed, skipped, lanBytes, internetBytes);
            events.Add(Protocol.Status.NodeEventKinds.Pass, $"pass {passId}: {applied} applied, {failed} failed, {skipped} already applied; {lanBytes} bytes from the LAN, {internetBytes} from the internet");
            return summary;
        }
        finally
        {
            _gate.Release();
        }
    }

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
    }
}
