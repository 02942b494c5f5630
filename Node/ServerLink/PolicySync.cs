using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Transport;

namespace PeerPatch.Node.ServerLink;

/// <summary>
/// Keeps this node's <see cref="PolicyReplica"/> current, as an explicit step of its own: whenever a session with a
/// server opens (a new server, a reconnect), the server changes, or every <see cref="ServerLinkOptions.PolicyRefresh"/>,
/// it first offers its own copy (a newly elected server adopts the highest sealed version any node holds, so the
/// policy survives the old server's death), then fetches the server's, with ring 0's record as of now. When this
/// node is the server, its store adopts this node's copy if that is newer, and the copy follows the store.
/// Best effort: a failure is logged and the last known policy applies.
/// </summary>
internal sealed partial class PolicySync(
    ClusterState cluster,
    IServerChannelProvider servers,
    PolicyReplica replica,
    PolicyClient client,
    PolicyStore store,
    ServerLinkOptions options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<PolicySync> logger) : BackgroundService
{
    /// <summary>How often a node with no remote server looks again whether it has one to long-poll.</summary>
    internal static readonly TimeSpan WatchIdle = TimeSpan.FromSeconds(1);

    /// <summary>The pause after a long poll that failed or brought a copy this node refused.</summary>
    internal static readonly TimeSpan WatchBackoff = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _changed = new(0);

    /// <summary>Syncs once now (the loop's step; tests call it).</summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        if (cluster.IsServer)
        {
            var mine = replica.Current;
            if (mine.Precedence(store.Current) > 0 && store.TryAdopt(mine.Text, mine.Seal, out var error) is false)
            {
                LogFailed(logger, $"own copy not adopted: {error}");
            }

            replica.TryAccept(PolicyReplica.ToReply(store.WithRing0()), out _);
            return;
        }

        if (servers.Current is not { IsLocal: false } server)
        {
            return;
        }

        if (replica.Current.Version > 0)
        {
            await client.OfferAsync(server, replica.Offer(), ct).ConfigureAwait(false);
        }

        if (await client.FetchAsync(server, ct).ConfigureAwait(false) is { } reply && replica.TryAccept(reply, out _))
        {
            LogFetched(logger, replica.Current.Version, server.Name);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        cluster.Changed += OnChanged;
        servers.SessionOpened += OnSessionOpened;
        store.Changed += OnStored;
        try
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
            }

            var watching = WatchAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await SyncAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogFailed(logger, e.Message);
                }

                using var refresh = new CancellationTokenSource(options.PolicyRefresh, time);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, refresh.Token);
                try
                {
                    await _changed.WaitAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // the periodic refresh
                }
            }

            await watching.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            cluster.Changed -= OnChanged;
            servers.SessionOpened -= OnSessionOpened;
            store.Changed -= OnStored;
        }
    }

    /// <summary>
    /// On a node that follows a remote server: the long poll (GET /v1/policy/next), so a version the server stores
    /// reaches this node within moments, not at its next refresh: an admin's hold then holds on every node at once, and
    /// it outlives the server's death seconds later (the next server adopts the highest copy the nodes hold). Every
    /// wait is bounded: the server answers within its own wait (10 s), the request within
    /// <see cref="PolicyClient.Timeout"/>; a failure or an answer it cannot use waits <see cref="WatchBackoff"/>.
    /// </summary>
    private async Task WatchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (cluster.IsServer || servers.Current is not { IsLocal: false } server)
                {
                    await Task.Delay(WatchIdle, time, ct).ConfigureAwait(false);
                    continue;
                }

                var asked = time.GetTimestamp();
                if (await client.NextAsync(server, replica.Current.Version, ct).ConfigureAwait(false) is not { } reply)
                {
                    if (time.GetElapsedTime(asked) < WatchIdle)
                    {
                        await Task.Delay(WatchIdle, time, ct).ConfigureAwait(false); // a server that does not wait is not asked in a loop
                    }

                    continue; // nothing newer within the server's wait
                }

                if (replica.TryAccept(reply, out var error))
                {
                    LogFetched(logger, replica.Current.Version, server.Name);
                    continue;
                }

                LogFailed(logger, $"long poll: {error}");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is LanUnavailableException or NotSupportedException or System.Text.Json.JsonException or HttpRequestException)
            {
                LogFailed(logger, $"long poll: {e.Message}");
            }

            try
            {
                await Task.Delay(WatchBackoff, time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void OnChanged(ClusterView view) => _changed.Release();

    private void OnSessionOpened(IServerChannel channel) => _changed.Release();

    private void OnStored(Policy.PolicyState state) => _changed.Release();

    [LoggerMessage(EventId = 730, Level = LogLevel.Debug, Message = "policy not synced: {Error}")]
    private static partial void LogFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 731, Level = LogLevel.Debug, Message = "policy version {Version} from {Server}")]
    private static partial void LogFetched(ILogger logger, long version, string server);
}
