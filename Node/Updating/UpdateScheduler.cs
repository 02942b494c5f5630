using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Updating;

/// <summary>
/// Runs a pass every <see cref="UpdatingOptions.UpdateInterval"/> (first one after a random delay of up to a minute, so a
/// LAN's PCs do not all start at once); zero disables it. When a pass asked for by hand is still running, this round
/// is skipped (after <see cref="UpdatingOptions.PassLockWait"/>).
/// </summary>
internal sealed partial class UpdateScheduler(UpdateRunner runner, UpdatingOptions options, IRandomSource random, TimeProvider time, ILogger<UpdateScheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.UpdateInterval <= TimeSpan.Zero)
        {
            return;
        }

        var first = TimeSpan.FromSeconds(Math.Min(60, options.UpdateInterval.TotalSeconds) * random.NextDouble());
        try
        {
            await Task.Delay(first, time, stoppingToken).ConfigureAwait(false);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (await runner.RunAsync(null, dryRun: false, stoppingToken).ConfigureAwait(false) is null)
                    {
                        LogSkipped(logger, runner.Current?.PassId ?? "?");
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogPassCrashed(logger, e);
                }

                await Task.Delay(options.UpdateInterval, time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    [LoggerMessage(EventId = 440, Level = LogLevel.Error, Message = "scheduled update pass crashed; next one at the usual interval")]
    private static partial void LogPassCrashed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 441, Level = LogLevel.Information, Message = "scheduled update pass skipped: pass {PassId} is still running; next one at the usual interval")]
    private static partial void LogSkipped(ILogger logger, string passId);
}
