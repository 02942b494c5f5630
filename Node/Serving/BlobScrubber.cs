using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Re-hashes every blob in the background (first a minute after start, then daily) and removes any whose
/// bytes no longer match their name: the content half of the start-up check, kept off the start-up path so a
/// node with a large cache starts at once.
/// </summary>
internal sealed partial class BlobScrubber(BlobStore store, NodeStats stats, TimeProvider time, ILogger<BlobScrubber> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMinutes(1), time, stoppingToken).ConfigureAwait(false);
            while (!stoppingToken.IsCancellationRequested)
            {
                var bad = 0;
                foreach (var sha in store.List())
                {
                    if (store.Contains(sha) && !await store.VerifyAsync(sha, stoppingToken).ConfigureAwait(false))
                    {
                        bad++;
                        stats.CorruptBlob();
                        LogCorrupt(logger, sha);
                    }
                }

                LogDone(logger, store.Count, bad);
                await Task.Delay(TimeSpan.FromDays(1), time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    [LoggerMessage(EventId = 320, Level = LogLevel.Error, Message = "scrub: blob {PatchHash} no longer matches its hash; removed")]
    private static partial void LogCorrupt(ILogger logger, string patchHash);

    [LoggerMessage(EventId = 321, Level = LogLevel.Information, Message = "scrub done: {Count} blobs, {Bad} removed")]
    private static partial void LogDone(ILogger logger, int count, int bad);
}
