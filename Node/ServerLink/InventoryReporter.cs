using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.ServerLink;

/// <summary>
/// Reports this node's inventory to its server, as an explicit step: whenever this node starts following a server (at
/// start, after a failover, after stepping down when a split heals) it opens a session at once, and whenever a
/// channel opens a new session (that one, or a reconnect during a pass) it sends <see cref="InventoryReport"/> to it;
/// so the server's database soon holds every patch any live node has, without waiting for the next update pass.
/// And after each blob this node stores (a fetch, a download, a pull) it tells the server at once with a small delta
/// report (batched, at most <see cref="MaxDelta"/> a request), so the server lists it as a source for others in seconds;
/// and after each blob that leaves the store (evicted, corrupt) it says so the same way, so the server stops listing
/// it as a source of that blob (before, PCs were sent there until the server changed, and got 404). A delta that cannot
/// be delivered is dropped: the next session's full report carries what is held, and the server ends the listings it
/// leaves out (until then a lost "gone" costs a 404 to a PC that asks that holder, which then moves on).
/// </summary>
internal sealed partial class InventoryReporter(
    ClusterState cluster,
    IServerChannelProvider servers,
    InventoryReport report,
    BlobStore store,
    IHostApplicationLifetime lifetime,
    IRandomSource random,
    TimeProvider time,
    ILogger<InventoryReporter> logger) : BackgroundService
{
    /// <summary>Tries per change of server or new session, one second apart.</summary>
    private const int Attempts = 5;

    /// <summary>Most entries of one delta report; more wait for the next.</summary>
    internal const int MaxDelta = 256;

    private readonly Channel<(InventoryEntry Entry, InventoryKind Kind)> _deltas = Channel.CreateBounded<(InventoryEntry, InventoryKind)>(new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private readonly SemaphoreSlim _changed = new(0);

    /// <summary>
    /// One report on the wire at a time, full or delta: a "gone" queued after a full report was built must not reach
    /// the server before that report, which would list the blob again.
    /// </summary>
    private readonly SemaphoreSlim _sending = new(1, 1);
    private IServerChannel? _reportedTo;
    private int _reportedSession;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        cluster.Changed += OnChanged;
        servers.SessionOpened += OnSessionOpened;
        store.Stored += OnStored;
        store.Removed += OnRemoved;
        var deltas = Task.CompletedTask;
        try
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false); // the transport and HTTP are up
            }

            deltas = SendDeltasAsync(stoppingToken);
            var retry = new RetryPolicy(Backoff.Fixed(TimeSpan.FromSeconds(1)), Attempts, random, time);
            while (!stoppingToken.IsCancellationRequested)
            {
                for (var failures = 0; servers.Current is { IsLocal: false } server;)
                {
                    try
                    {
                        await server.ConnectAsync(stoppingToken).ConfigureAwait(false);
                        if (!ReferenceEquals(server, _reportedTo) || server.SessionNumber != _reportedSession)
                        {
                            var session = server.SessionNumber;
                            await _sending.WaitAsync(stoppingToken).ConfigureAwait(false);
                            try
                            {
                                // Sent even when empty: a full report is the whole store, and ends any listing of
                                // blobs it leaves out (a "gone" delta that was lost).
                                var entries = report.Build();
                                await server.ReportInventoryAsync(entries, stoppingToken).ConfigureAwait(false);
                                LogReported(logger, entries.Count, server.Name);
                            }
                            finally
                            {
                                _sending.Release();
                            }

                            (_reportedTo, _reportedSession) = (server, session);
                        }

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
            servers.SessionOpened -= OnSessionOpened;
            store.Stored -= OnStored;
            store.Removed -= OnRemoved;
            await deltas.ConfigureAwait(false);
        }
    }

    private void OnStored(string sha256, long size, PatchRecord? patch)
    {
        if (patch is not null)
        {
            _deltas.Writer.TryWrite((new InventoryEntry(patch.OsVersion, patch.PatchName, sha256, size, Protocol.Text.SecretRedaction.RedactUrl(patch.UpstreamUrl)), InventoryKind.Added));
        }
    }

    private void OnRemoved(string sha256) => _deltas.Writer.TryWrite((new InventoryEntry(null, null, sha256, 0, null), InventoryKind.Gone));

    private async Task SendDeltasAsync(CancellationToken ct)
    {
        var retry = new RetryPolicy(Backoff.Fixed(TimeSpan.FromMilliseconds(500)), 3, random, time);
        var batch = new List<InventoryEntry>(MaxDelta);
        try
        {
            (InventoryEntry Entry, InventoryKind Kind)? carried = null; // read, but of another kind than the batch before
            while (carried is not null || await _deltas.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                // One kind per request, in the order they happened (a blob stored, then evicted, ends unlisted).
                batch.Clear();
                (InventoryEntry Entry, InventoryKind Kind) first;
                if (carried is { } kept)
                {
                    (first, carried) = (kept, null);
                }
                else if (!_deltas.Reader.TryRead(out first))
                {
                    continue;
                }

                AddIfStillTrue(batch, first);
                while (batch.Count < MaxDelta && _deltas.Reader.TryRead(out var next))
                {
                    if (next.Kind != first.Kind)
                    {
                        carried = next;
                        break;
                    }

                    AddIfStillTrue(batch, next);
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                for (var failures = 0; servers.Current is { IsLocal: false } server;)
                {
                    try
                    {
                        await server.ConnectAsync(ct).ConfigureAwait(false);
                        await _sending.WaitAsync(ct).ConfigureAwait(false);
                        try
                        {
                            await server.ReportInventoryAsync(batch, ct, first.Kind).ConfigureAwait(false);
                        }
                        finally
                        {
                            _sending.Release();
                        }

                        LogReported(logger, batch.Count, server.Name);
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                    {
                        LogFailed(logger, e.Message);
                        if (!retry.TryNext(++failures, out var delay))
                        {
                            break;
                        }

                        await retry.WaitAsync(delay, ct).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>
    /// Adds the entry when the store still says so: a blob stored and evicted at once (two writes under a tight cap)
    /// may raise its Stored after its Removed, and the report follows the store, not the order of the events.
    /// </summary>
    private void AddIfStillTrue(List<InventoryEntry> batch, (InventoryEntry Entry, InventoryKind Kind) delta)
    {
        if (store.Contains(delta.Entry.Sha256!) == (delta.Kind == InventoryKind.Added))
        {
            batch.Add(delta.Entry);
        }
    }

    private void OnChanged(ClusterView view) => _changed.Release();

    private void OnSessionOpened(IServerChannel channel) => _changed.Release();

    [LoggerMessage(EventId = 710, Level = LogLevel.Debug, Message = "inventory report not delivered yet: {Error}")]
    private static partial void LogFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 711, Level = LogLevel.Debug, Message = "inventory of {Count} blobs reported to {Server}")]
    private static partial void LogReported(ILogger logger, int count, string server);
}
