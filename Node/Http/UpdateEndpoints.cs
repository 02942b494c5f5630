using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Http;

/// <summary>
/// POST /v1/update: runs one pass and streams it as NDJSON: {"progress":{...}} lines about four times a second while
/// a patch moves, one outcome object per patch, then {"summary":{...}}. Only from loopback: it makes this PC install
/// patches. The pass runs to its end even if the caller leaves.
/// </summary>
internal static class UpdateEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    public static void Map(WebApplication app) => app.MapPost("/v1/update", async (HttpContext ctx, bool? dryRun, UpdateRunner runner, PassActivity activity, TimeProvider time, IHostApplicationLifetime life) =>
    {
        if (ctx.Connection.RemoteIpAddress is not { } remote || !System.Net.IPAddress.IsLoopback(remote))
        {
            ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
            await ctx.Response.WriteAsync("update passes can only be started from this machine\n").ConfigureAwait(false);
            return;
        }

        ctx.Response.ContentType = "application/x-ndjson";
        await ctx.Response.StartAsync().ConfigureAwait(false);
        using var writeLock = new SemaphoreSlim(1, 1);
        async Task WriteAsync<T>(T value)
        {
            await writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await WriteLineAsync(ctx, value).ConfigureAwait(false);
            }
            finally
            {
                writeLock.Release();
            }
        }

        using var passDone = new CancellationTokenSource();
        var reporting = ReportProgressAsync(activity, WriteAsync, time, passDone.Token);
        PassSummary summary;
        try
        {
            summary = await runner.RunAsync(outcome => WriteAsync(outcome), dryRun ?? false, life.ApplicationStopping).ConfigureAwait(false);
        }
        finally
        {
            await passDone.CancelAsync().ConfigureAwait(false);
            await reporting.ConfigureAwait(false);
        }

        await WriteAsync(new SummaryLine(summary)).ConfigureAwait(false);
    });

    private static async Task ReportProgressAsync(PassActivity activity, Func<ProgressLine, Task> write, TimeProvider time, CancellationToken ct)
    {
        TransferProgress? last = null;
        try
        {
            using var timer = new PeriodicTimer(ProgressInterval, time);
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                if (activity.Snapshot() is { } now && now != last)
                {
                    last = now;
                    await write(new ProgressLine(now)).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the pass ended
        }
    }

    private static async Task WriteLineAsync<T>(HttpContext ctx, T value)
    {
        if (ctx.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await ctx.Response.WriteAsync(JsonSerializer.Serialize(value, Json) + "\n", ctx.RequestAborted).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // the caller left; the pass goes on
        }
    }

    private sealed record ProgressLine(TransferProgress Progress);
}
