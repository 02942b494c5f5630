using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.ServerLink;

/// <summary>
/// Whenever this node starts following a server (at start, after a failover, after stepping down when a split
/// heals), it opens a session at once; a new session reports this node's inventory, so the server's database
/// soon holds every patch any live node has, without waiting for the next update pass.
/// </summary>
internal sealed partial class InventoryReporter(
    ClusterState cluster,
    IServerChannelProvider servers,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<InventoryReporter> logger) : BackgroundService
{
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

            while (!stoppingToken.IsCancellationRequested)
            {
                for (var attempt = 0; attempt < 5 && servers.Current is { IsLocal: false } server; attempt++)
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
                        await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(false);
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
