using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Collects hits and new (os, name) rows from the lookup path and writes them to SQLite in batches, every
/// second, so a lookup never waits on a disk write. A crash loses at most the last second of hit counts
/// (statistics, never patch data).
/// </summary>
internal sealed partial class HitRecorder(PatchDatabase db, TimeProvider time, ILogger<HitRecorder> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<(string Os, string Name, string Sha), long> _hits = new(OrdinalKeys.Instance);
    private readonly ConcurrentQueue<PatchRecord> _rows = new();

    public void RecordHit(string os, string name, string sha256) =>
        _hits.AddOrUpdate((os, name, sha256), 1, (_, n) => n + 1);

    public void RecordRow(PatchRecord row) => _rows.Enqueue(row);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        Flush();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Flush();
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private void Flush()
    {
        try
        {
            while (_rows.TryDequeue(out var row))
            {
                db.AddPatch(row);
            }

            if (_hits.IsEmpty)
            {
                return;
            }

            var now = time.GetUtcNow();
            var batch = new List<HitCount>();
            foreach (var key in _hits.Keys)
            {
                if (_hits.TryRemove(key, out var n))
                {
                    batch.Add(new HitCount(key.Os, key.Name, key.Sha, n, now));
                }
            }

            db.AddHits(batch);
        }
        catch (Exception e)
        {
            LogFlushFailed(logger, e);
        }
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "writing hit counts failed; will retry")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
