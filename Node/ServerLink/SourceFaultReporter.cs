using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.ServerLink;

/// <summary>
/// Hands the LAN sources a fetch proved wrong (<see cref="ISourceFaults"/>) to the server this node follows now, in
/// batches of at most <see cref="SourceFault.MaxPerReport"/> (POST /v1/sources/faults), so it stops listing them for
/// those blobs and the next PCs are not sent to them. Fetches never wait for it: a report is queued (bounded, the
/// oldest dropped), sent in the background, retried twice, then dropped. A lost report costs at most the next PCs the
/// same drop this one made: they check every piece.
/// </summary>
internal sealed partial class SourceFaultReporter(
    IServerChannelProvider servers,
    IRandomSource random,
    TimeProvider time,
    ILogger<SourceFaultReporter> logger) : BackgroundService, ISourceFaults
{
    /// <summary>Faults queued for the server at most; more push the oldest out.</summary>
    internal const int Queue = 1024;

    private readonly Channel<SourceFault> _faults = Channel.CreateBounded<SourceFault>(new BoundedChannelOptions(Queue) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    /// <summary>Reports delivered (for tests).</summary>
    public int Delivered => Volatile.Read(ref _delivered);

    private int _delivered;

    public void Report(string sha256, string nodeId, string kind) => _faults.Writer.TryWrite(new SourceFault(sha256, nodeId, kind));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retry = new RetryPolicy(Backoff.Fixed(TimeSpan.FromMilliseconds(500)), 3, random, time);
        var batch = new List<SourceFault>(SourceFault.MaxPerReport);
        try
        {
            while (await _faults.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < SourceFault.MaxPerReport && _faults.Reader.TryRead(out var fault))
                {
                    if (!batch.Contains(fault))
                    {
                        batch.Add(fault); // several fetches of one blob drop the same source: told once
                    }
                }

                for (var failures = 0; servers.Current is { } server;)
                {
                    try
                    {
                        await server.ReportSourceFaultsAsync(batch, stoppingToken).ConfigureAwait(false);
                        Interlocked.Increment(ref _delivered);
                        LogReported(logger, batch.Count, server.Name);
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        LogFailed(logger, e.Message);
                        if (!retry.TryNext(++failures, out var delay))
                        {
                            break;
                        }

                        await retry.WaitAsync(delay, stoppingToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    [LoggerMessage(EventId = 713, Level = LogLevel.Information, Message = "told {Server} of {Count} LAN sources that proved wrong")]
    private static partial void LogReported(ILogger logger, int count, string server);

    [LoggerMessage(EventId = 714, Level = LogLevel.Debug, Message = "source faults not delivered yet: {Error}")]
    private static partial void LogFailed(ILogger logger, string error);
}
