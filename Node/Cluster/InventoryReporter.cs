using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// Whenever this node starts following a server (at start, after a failover, after stepping down when a split
/// heals), it opens a session at once; a new session reports this node's inventory, so the server's database
/// soon holds every patch any live node has, without waiting for the next update pass.
/// </summary>
internal sealed partial class InventoryReporter(
    ClusterState cluster,
    IServerChannelProvider servers,
    IHostApplicationLifetime lifetime,
    IRandomSource random,
    TimeProvider time,
    ILogger<InventoryReporter> logger) : BackgroundService
{
    /// <summary>Tries per change of server, one second apart.</summary>
    private const int Attempts = 5;

    private readonly SemaphoreSlim _changed = new(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        cluster.Changed += OnChanged;
        try
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false); // the transport and HTTP are up
            }

            var retry = new RetryPolicy(Backoff.Fixed(TimeSpan.FromSeconds(1)), Attempts, random, time);
            while (!stoppingToken.IsCancellationRequested)
            {
                for (var failures = 0; servers.Current is { IsLocal: false } server;)
                {
                    try
                    {
                        await server.ConnectAsync(stoppingToken).ConfigureAwait(false);
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        // A report is best effort: it must never take the node down.
                        LogFailed(logger, e.Message);
                        if (!retry.TryNext(++failures, out var delay))
                        {
                            break;
                        }

                        await retry.WaitAsync(delay, stoppingToken).ConfigureAwait(false);
                    }
                }

                await _changed.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            cluster.Changed -= OnChanged;
        }
    }

    private void OnChanged(ClusterView view) => _changed.Release();

    [LoggerMessage(EventId = 710, Level = LogLevel.Debug, Message = "inventory report not delivered yet: {Error}")]
    private static partial void LogFailed(ILogger logger, string error);
}
