using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Http;

/// <summary>
/// POST /v1/update: runs one pass and streams its outcomes as NDJSON (one object per patch, then the summary).
/// Only from loopback: it makes this PC install patches. The pass runs to its end even if the caller leaves.
/// </summary>
internal static class UpdateEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Map(WebApplication app) => app.MapPost("/v1/update", async (HttpContext ctx, UpdateRunner runner, IHostApplicationLifetime life) =>
    {
        if (ctx.Connection.RemoteIpAddress is not { } remote || !System.Net.IPAddress.IsLoopback(remote))
        {
            ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
            await ctx.Response.WriteAsync("update passes can only be started from this machine\n").ConfigureAwait(false);
            return;
        }

        ctx.Response.ContentType = "application/x-ndjson";
        await ctx.Response.StartAsync().ConfigureAwait(false);
        var summary = await runner.RunAsync(outcome => WriteLineAsync(ctx, outcome), life.ApplicationStopping).ConfigureAwait(false);
        await WriteLineAsync(ctx, new SummaryLine(summary)).ConfigureAwait(false);
    });

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
}
