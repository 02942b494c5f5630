using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Serving;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Http;

/// <summary>
/// POST /v1/sources/faults (server only): a node tells which LAN sources proved wrong for a blob while it fetched it
/// (<see cref="SourceFault"/>: bad bytes, or 404 for a blob it was listed as holding), so this server stops listing
/// them for that blob once a second node says the same (<see cref="SourceTable.ReportFault"/>: one PC with a bad disk
/// or bad memory cannot empty the lists) and the next PCs are not sent there, until the accused reports holding the
/// blob again; the server is never taken off. The reporter's id is its own word (as an inventory's is): this guards
/// against a faulty member, not a hostile one, which could already end any holder's listing with a forged "gone"
/// inventory. With a cluster key only members get here (a signed POST). Entries that are not well-formed are skipped;
/// a body over <see cref="MaxBodyBytes"/> is refused.
/// </summary>
internal static partial class SourceFaultEndpoints
{
    /// <summary>A full report's JSON is about 150 bytes an entry.</summary>
    internal const long MaxBodyBytes = 64 << 10;

    public static void Map(WebApplication app) => app.MapPost("/v1/sources/faults", async (HttpContext ctx, ClusterState cluster, SourceTable sources, HolderIndex holders, TimeProvider time, ILoggerFactory loggers) =>
    {
        if (!cluster.IsServer)
        {
            return Results.Problem("this node is not the LAN server", statusCode: StatusCodes.Status409Conflict);
        }

        var reporter = ctx.Request.Headers[ApiHeaders.NodeId].ToString();
        if (!WireFormat.IsNodeId(reporter))
        {
            return Results.Problem($"{ApiHeaders.NodeId} must name the reporter", statusCode: StatusCodes.Status400BadRequest);
        }

        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        List<SourceFault>? faults;
        try
        {
            faults = await JsonSerializer.DeserializeAsync(ctx.Request.Body, StatusJsonContext.Default.ListSourceFault, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return Results.Problem($"source faults are not valid JSON: {e.Message}", statusCode: StatusCodes.Status400BadRequest);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Results.Problem($"a source fault report may be at most {MaxBodyBytes} bytes", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        var logger = loggers.CreateLogger(typeof(SourceFaultEndpoints));
        var unlisted = SourceFaultIntake.Apply(sources, holders, reporter, faults ?? [], time.MonotonicNow());
        foreach (var fault in unlisted)
        {
            LogUnlisted(logger, fault.NodeId!, fault.Sha256!, reporter, fault.Kind!);
        }

        return Results.Json(new FaultReply(unlisted.Count), FaultJson.Default.FaultReply, statusCode: StatusCodes.Status202Accepted);
    });

    internal sealed record FaultReply(int Unlisted);

    [LoggerMessage(EventId = 332, Level = LogLevel.Information, Message = "LAN source {PeerId} no longer listed for {PatchHash}: {Reporter} reported {Kind}")]
    private static partial void LogUnlisted(ILogger logger, string peerId, string patchHash, string reporter, string kind);

    [System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [System.Text.Json.Serialization.JsonSerializable(typeof(FaultReply))]
    private sealed partial class FaultJson : System.Text.Json.Serialization.JsonSerializerContext;
}
