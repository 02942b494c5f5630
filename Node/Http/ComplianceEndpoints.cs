using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Serving;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Http;

/// <summary>
/// POST /v1/compliance (server only): a node's compliance report (signed like every write when the LAN has a cluster
/// key; refused over <see cref="ComplianceReport.MaxBodyBytes"/>, over <see cref="ComplianceReport.MaxPatches"/>
/// patches, or malformed, with the reason). The reply lists the nodes this server knows, for the node to hand on to
/// a later server. GET /v1/compliance[?os=KEY&amp;patch=NAME&amp;node=ID-OR-HOSTNAME] (server only): the LAN's
/// <see cref="ComplianceView"/>.
/// </summary>
internal static class ComplianceEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapPost("/v1/compliance", async (HttpContext ctx, ClusterState cluster, ComplianceBook book, TimeProvider time) =>
        {
            if (!cluster.IsServer)
            {
                return Results.Problem("this node is not the LAN server", statusCode: StatusCodes.Status409Conflict);
            }

            if (ctx.Request.ContentLength > ComplianceReport.MaxBodyBytes)
            {
                return Results.Problem($"a compliance report may be at most {ComplianceReport.MaxBodyBytes} bytes", statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = ComplianceReport.MaxBodyBytes;
            }

            ComplianceReport? report;
            try
            {
                report = await JsonSerializer.DeserializeAsync(ctx.Request.Body, StatusJsonContext.Default.ComplianceReport, ctx.RequestAborted).ConfigureAwait(false);
            }
            catch (JsonException e)
            {
                return Results.Problem($"the compliance report is not valid JSON: {e.Message}", statusCode: StatusCodes.Status400BadRequest);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return Results.Problem($"a compliance report may be at most {ComplianceReport.MaxBodyBytes} bytes", statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            var now = time.GetUtcNow();
            if (!ComplianceIntake.TryRead(report, now, out var row, out var error))
            {
                return Results.Problem($"compliance report refused: {error}", statusCode: StatusCodes.Status400BadRequest);
            }

            book.Record(row);
            book.Learn(report!.Known, now);
            return Results.Json(new ComplianceReply(row.Patches.Count, book.Known(now)), StatusJsonContext.Default.ComplianceReply, statusCode: StatusCodes.Status202Accepted);
        });

        app.MapGet("/v1/compliance", (string? os, string? patch, string? node, ClusterState cluster, ComplianceBook book) =>
        {
            if (!cluster.IsServer)
            {
                return Results.Problem("this node is not the LAN server; ask the server", statusCode: StatusCodes.Status409Conflict);
            }

            if ((os is not null && !WireFormat.IsOsVersion(os)) || (patch is not null && !WireFormat.IsPatchName(patch)) || node is { Length: > ComplianceReport.MaxHostnameLength })
            {
                return Results.Problem("os, patch or node is malformed", statusCode: StatusCodes.Status400BadRequest);
            }

            return Results.Json(book.View(new ComplianceFilter(os, patch, node)), StatusJsonContext.Default.ComplianceView);
        });
    }
}
