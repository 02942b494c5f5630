using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Every minute, evicts least recently used blobs above the cache's cap as measured now (BlobStore.TrimToCapacity).
/// The default cap is a share of the room the cache has (CacheCapPercent), so when the PC's user fills the disk with
/// other files the cap shrinks; the store alone evicts only when it stores a blob, which on an idle LAN can be days
/// away. A blob used in the last 10 minutes is spared: a pass may be applying it.
/// </summary>
internal sealed partial class CacheTrimmer(BlobStore store, TimeProvider time, ILogger<CacheTrimmer> logger) : BackgroundService
{
    internal static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    internal static readonly TimeSpan Spare = BlobStore.InUseSpare;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
                Trim();
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    internal void Trim()
    {
        try
        {
            var (blobs, bytes) = store.TrimToCapacity(Spare);
            if (blobs > 0)
            {
                LogTrimmed(logger, blobs, bytes, store.CapacityBytes, store.TotalBytes);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            LogFailed(logger, e.Message);
        }
    }

    [LoggerMessage(EventId = 322, Level = LogLevel.Information, Message = "cache over its cap as the disk filled: {Blobs} least recently used blobs ({Bytes} bytes) evicted; cap now {Cap} bytes, {Held} bytes held")]
    private static partial void LogTrimmed(ILogger logger, int blobs, long bytes, long cap, long held);

    [LoggerMessage(EventId = 323, Level = LogLevel.Warning, Message = "cache trim failed (tried again in a minute): {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
