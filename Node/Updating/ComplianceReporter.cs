using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Updating;

/// <summary>
/// Reports this node's compliance to its LAN server: the states of its last pass (kept in its own database, so a
/// restart or a new server loses nothing) after every pass, whenever the server changes or a new session opens, and
/// every <see cref="UpdatingOptions.ComplianceReportInterval"/>. Each report carries its hostname and ring, and hands on
/// the nodes the previous server knew (<see cref="ComplianceReport.Known"/>), so after a failover the new server lists
/// even nodes that stopped before it (as stale). A node that never finished a pass reports an empty list. Best effort:
/// a failed report is retried a few times, then at the next trigger.
/// </summary>
internal sealed partial class ComplianceReporter(
    UpdateRunner runner,
    ClusterState cluster,
    IServerChannelProvider servers,
    PatchDatabase db,
    NodeIdentity self,
    CoreOptions core,
    UpdatingOptions options,
    IHostApplicationLifetime lifetime,
    IRandomSource random,
    TimeProvider time,
    ILogger<ComplianceReporter> logger) : BackgroundService
{
    /// <summary>The meta key of this node's last report (JSON).</summary>
    internal const string MetaKey = "compliance.last";

    private const int Attempts = 3;

    private readonly SemaphoreSlim _changed = new(0);
    private IReadOnlyList<ComplianceKnownNode> _known = [];
    private PassStates? _last;

    /// <summary>Reports delivered (for tests and diagnostics).</summary>
    public int Delivered => Volatile.Read(ref _delivered);

    private int _delivered;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _last = Load();
        runner.PassEnded += OnPassEnded;
        cluster.Changed += OnChanged;
        servers.SessionOpened += OnSessionOpened;
        try
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
            }

            var retry = new RetryPolicy(Backoff.Fixed(TimeSpan.FromSeconds(1)), Attempts, random, time);
            while (!stoppingToken.IsCancellationRequested)
            {
                for (var failures = 0; servers.Current is { } server;)
                {
                    try
                    {
                        var reply = await server.ReportComplianceAsync(Build(), stoppingToken).ConfigureAwait(false);
                        _known = reply.Known?.Take(ComplianceReport.MaxKnown).ToList() ?? [];
                        Interlocked.Increment(ref _delivered);
                        LogReported(logger, server.Name);
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

                // The next trigger: a pass, a new server or session, or the interval.
                using (var interval = new CancellationTokenSource(options.ComplianceReportInterval, time))
                using (var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, interval.Token))
                {
                    try
                    {
                        await _changed.WaitAsync(either.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                        // the interval passed: re-send
                    }
                }

                while (_changed.Wait(0))
                {
                    // one report covers every trigger so far
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            runner.PassEnded -= OnPassEnded;
            cluster.Changed -= OnChanged;
            servers.SessionOpened -= OnSessionOpened;
        }
    }

    /// <summary>The report as it would be sent now.</summary>
    internal ComplianceReport Build()
    {
        var last = Volatile.Read(ref _last);
        return new ComplianceReport(self.NodeId, Environment.MachineName, core.Ring, self.OsVersion, last?.PassId, last?.EndedAt ?? DateTimeOffset.UnixEpoch, last?.Patches ?? [], _known);
    }

    private PassStates? Load()
    {
        try
        {
            if (db.GetMeta(MetaKey) is not { } json)
            {
                return null;
            }

            var report = JsonSerializer.Deserialize(json, StatusJsonContext.Default.ComplianceReport);
            return report is { PassId: { } id, Os: { } os } && os == self.OsVersion ? new PassStates(id, report.At, report.Patches ?? []) : null;
        }
        catch (JsonException e)
        {
            LogUnreadable(logger, e.Message);
            return null;
        }
    }

    private void OnPassEnded(PassStates states)
    {
        Volatile.Write(ref _last, states);
        try
        {
            db.SetMeta(MetaKey, JsonSerializer.Serialize(Build() with { Known = null }, StatusJsonContext.Default.ComplianceReport));
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            LogNotSaved(logger, e.Message); // the report still goes out; only a restart would lose it
        }

        _changed.Release();
    }

    private void OnChanged(ClusterView view) => _changed.Release();

    private void OnSessionOpened(IServerChannel channel) => _changed.Release();

    [LoggerMessage(EventId = 745, Level = LogLevel.Warning, Message = "compliance report not delivered yet: {Error}")]
    private static partial void LogFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 746, Level = LogLevel.Debug, Message = "compliance reported to {Server}")]
    private static partial void LogReported(ILogger logger, string server);

    [LoggerMessage(EventId = 747, Level = LogLevel.Warning, Message = "this node's last compliance report is unreadable and is ignored: {Error}")]
    private static partial void LogUnreadable(ILogger logger, string error);

    [LoggerMessage(EventId = 723, Level = LogLevel.Warning, Message = "this node's compliance report could not be saved: {Error}")]
    private static partial void LogNotSaved(ILogger logger, string error);
}
