using Microsoft.Extensions.Hosting;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Http;

/// <summary>
/// Samples the traffic counters at every wall-clock multiple of <see cref="HistorySample.IntervalSeconds"/> and keeps
/// the last <see cref="Capacity"/> samples (an hour), for the dashboard's savings chart (GET /v1/history).
/// </summary>
internal sealed class StatsHistory(NodeStats stats, TimeProvider time) : BackgroundService
{
    public const int Capacity = 360;

    private readonly object _lock = new();
    private readonly Queue<HistorySample> _samples = new();
    private long _lastAt = -1;

    public IReadOnlyList<HistorySample> Samples(long sinceUnixSeconds = 0)
    {
        lock (_lock)
        {
            return _samples.Where(s => s.At >= sinceUnixSeconds).ToList();
        }
    }

    internal void Sample(DateTimeOffset now)
    {
        var at = now.ToUnixTimeSeconds() / HistorySample.IntervalSeconds * HistorySample.IntervalSeconds;
        var sample = new HistorySample(at, stats.InternetBytes, stats.LanBytesFetched, stats.LanBytesServed);
        lock (_lock)
        {
            if (at == _lastAt)
            {
                return;
            }

            _lastAt = at;

            if (_samples.Count == Capacity)
            {
                _samples.Dequeue();
            }

            _samples.Enqueue(sample);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                var now = time.GetUtcNow();
                Sample(now);
                var intoInterval = now.ToUnixTimeMilliseconds() % (HistorySample.IntervalSeconds * 1000L);
                await Task.Delay(TimeSpan.FromMilliseconds((HistorySample.IntervalSeconds * 1000L) - intoInterval + 5), time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }
}
