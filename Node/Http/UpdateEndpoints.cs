using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Http;

/// <summary>
/// POST /v1/update: runs one pass and streams it as NDJSON: {"progress":{...}} lines about four times a second while
/// a patch moves, one outcome object per patch, then {"summary":{...}}. Only from loopback: it makes this PC install
/// patches. A caller that leaves (an interrupted `peerpatch update`) cancels the pass, and with it its requests.
/// </summary>
internal static partial class UpdateEndpoints
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    public static void Map(WebApplication app) => app.MapPost("/v1/update", async (HttpContext ctx, bool? dryRun, UpdateRunner runner, TimeProvider time, IHostApplicationLifetime life) =>
    {
        if (ctx.Connection.RemoteIpAddress is not { } remote || !System.Net.IPAddress.IsLoopback(remote))
        {
            ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
            await ctx.Response.WriteAsync("update passes can only be started from this machine\n").ConfigureAwait(false);
            return;
        }

        UpdateRunner.PassLease? lease;
        try
        {
            lease = await runner.TryEnterAsync(ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // the caller left while waiting
        }

        if (lease is null)
        {
            ctx.Response.StatusCode = StatusCodes.Status409Conflict;
            await ctx.Response.WriteAsync(Busy(runner.Current, time.GetUtcNow()) + "\n").ConfigureAwait(false);
            return;
        }

        using var held = lease; // released at the end of the pass, or here when it never starts
        using var passCt = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, life.ApplicationStopping);
        ctx.Response.ContentType = "application/x-ndjson";
        try
        {
            await ctx.Response.StartAsync(passCt.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            return;
        }

        using var writeLock = new SemaphoreSlim(1, 1);
        async Task WriteAsync<T>(T value, JsonTypeInfo<T> type)
        {
            await writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await WriteLineAsync(ctx, value, type).ConfigureAwait(false);
            }
            finally
            {
                writeLock.Release();
            }
        }

        using var passDone = new CancellationTokenSource();
        var reporting = ReportProgressAsync(held.Progress, p => WriteAsync(p, UpdateJson.Default.ProgressLine), time, passDone.Token); // this pass's, no other's
        PassSummary summary;
        try
        {
            summary = await runner.RunAsync(lease, outcome => WriteAsync(outcome, UpdateJson.Default.PatchOutcome), dryRun ?? false, passCt.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (passCt.IsCancellationRequested)
        {
            return; // the caller left or the node is stopping: the runner logged the cancelled pass
        }
        finally
        {
            await passDone.CancelAsync().ConfigureAwait(false);
            await reporting.ConfigureAwait(false);
        }

        await WriteAsync(new SummaryLine(summary), UpdateJson.Default.SummaryLine).ConfigureAwait(false);
    });

    /// <summary>The 409 text: which pass runs, for how long already, and when its deadline ends it.</summary>
    internal static string Busy(UpdateRunner.RunningPass? running, DateTimeOffset now) => running is null
        ? "a pass is already running; try again later"
        : $"a pass is already running (pass {running.PassId}, started {Span(now - running.Started)} ago; its deadline ends it within {Span(running.Deadline - now)}); try again later";

    private static string Span(TimeSpan t) => t.TotalSeconds switch
    {
        < 0 => "0 s",
        < 120 => $"{t.TotalSeconds:0} s",
        < 7200 => $"{t.TotalMinutes:0} min",
        _ => $"{t.TotalHours:0.#} h",
    };

    private static async Task ReportProgressAsync(PatchProgress progress, Func<ProgressLine, Task> write, TimeProvider time, CancellationToken ct)
    {
        TransferProgress? last = null;
        try
        {
            using var timer = new PeriodicTimer(ProgressInterval, time);
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                if (progress.Snapshot() is { } now && now != last)
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

    private static async Task WriteLineAsync<T>(HttpContext ctx, T value, JsonTypeInfo<T> type)
    {
        if (ctx.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await ctx.Response.WriteAsync(JsonSerializer.Serialize(value, type) + "\n", ctx.RequestAborted).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // the caller left: RequestAborted cancels the pass too
        }
    }

    /// <summary>The NDJSON lines, source-generated (web casing).</summary>
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(ProgressLine))]
    [JsonSerializable(typeof(PatchOutcome))]
    [JsonSerializable(typeof(SummaryLine))]
    private sealed partial class UpdateJson : JsonSerializerContext;
}
