using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Serving;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Http;

/// <summary>
/// POST /v1/inventory (server only): a node reports the patches it holds, so this server knows them even if it
/// was elected after they were pushed elsewhere. Blobs the server lacks are remembered with their holder and
/// pulled in the background (full reports, sent at session start, only: a delta, `?delta=1`, sent right after the
/// reporter stored a blob, names a blob the reporter is about to push or got from the LAN, and pulling it too would
/// move it across the LAN twice), and every reported blob makes the reporter a source of the hits for it
/// (<see cref="SourceTable"/>). A report of blobs gone (`?gone=1`, sent when the reporter evicted or dropped them;
/// only each entry's SHA-256 counts) ends the reporter's listing as their source, so lookups stop sending PCs to a
/// copy that answers 404. A full report names everything the reporter holds, so it also ends the reporter's
/// listings of any blob it leaves out (a "gone" that was lost; <see cref="SourceTable.RetainHolder"/>). Entries are
/// data only: a wrong one can at most name a blob nobody can serve, or take one node's listings away (the hits then
/// name the others, or the server), and a client verifies every piece. With a cluster key only members get here (a
/// signed POST).
/// </summary>
internal static partial class InventoryEndpoints
{
    private const long MaxBodyBytes = 32L << 20;

    public static void Map(WebApplication app) => app.MapPost("/v1/inventory", async (HttpContext ctx, ClusterState cluster, BlobStore store, HolderIndex holders, SourceTable sources, BlobPuller puller, CoreOptions options, TimeProvider time) =>
    {
        if (!cluster.IsServer)
        {
            return Results.Problem("this node is not the LAN server", statusCode: StatusCodes.Status409Conflict);
        }

        if (!int.TryParse(ctx.Request.Headers[ApiHeaders.HttpPort], out var port) || port is < 1 or > 65535 || ctx.Connection.RemoteIpAddress is not { } remote)
        {
            return Results.Problem($"{ApiHeaders.HttpPort} must name the reporter's HTTP port", statusCode: StatusCodes.Status400BadRequest);
        }

        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        List<InventoryEntry>? entries;
        try
        {
            entries = await JsonSerializer.DeserializeAsync(ctx.Request.Body, InventoryJson.Default.ListInventoryEntry, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return Results.Problem($"inventory is not valid JSON: {e.Message}", statusCode: StatusCodes.Status400BadRequest);
        }

        var host = remote.Unmapped();
        var holder = new Uri($"http://{(host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host.ToString())}:{port}/");
        var node = ctx.Request.Headers[ApiHeaders.NodeId].ToString();
        var delta = ctx.Request.Query["delta"] == "1"; // right after the reporter stored it: a source, but no pull
        var accepted = 0;
        if (ctx.Request.Query["gone"] == "1")
        {
            foreach (var e in entries ?? [])
            {
                if (WireFormat.IsSha256(e.Sha256) && WireFormat.IsNodeId(node))
                {
                    accepted++;
                    sources.RemoveHolder(e.Sha256!, node);
                    holders.Drop(e.Sha256!, holder); // nor sent there for a blob this server lacks (HolderIndex)
                }
            }

            return Results.Json(new AcceptedReply(accepted), InventoryJson.Default.AcceptedReply, statusCode: StatusCodes.Status202Accepted);
        }

        var held = delta ? null : new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries ?? [])
        {
            if (!WireFormat.IsOsVersion(e.Os) || !WireFormat.IsPatchName(e.Name) || !WireFormat.IsSha256(e.Sha256) || !WireFormat.IsSize(e.Size) || e.Size > options.MaxPatchBytes)
            {
                continue;
            }

            accepted++;
            held?.Add(e.Sha256!);
            if (WireFormat.IsNodeId(node))
            {
                sources.AddHolder(e.Sha256!, node, holder, time.MonotonicNow()); // a source for the hits of others
            }

            if (delta || store.Contains(e.Sha256!))
            {
                continue; // a delta's blob is on its way here (the claim holder pushes it) or came from the LAN
            }

            var url = e.UpstreamUrl is { Length: <= ProtocolLimits.MaxUrlLength } u && Uri.TryCreate(u, UriKind.Absolute, out _) ? Protocol.Text.SecretRedaction.RedactUrl(u) : null;
            if (holders.Add(new PatchRecord(e.Os!, e.Name!, e.Sha256!, e.Size, url, time.GetUtcNow(), WireFormat.IsNodeId(node) ? node : "unknown", 0, null), holder, out var created)
                && created && !puller.Enqueue(e.Sha256!)) // once a blob: before, once a holder, so 500 PCs reporting 200 blobs queued 100,000 pulls
            {
                holders.Forget(e.Sha256!); // no pull queued (the queue is full): not kept without one, a later report tries again
            }
        }

        if (held is not null && WireFormat.IsNodeId(node))
        {
            // A full report is the reporter's whole store: what it no longer names, it no longer serves. HolderIndex
            // (blobs this server lacks: pulled, and meanwhile handed out as hits) is left as it is, to spare a scan of
            // up to 200,000 entries per report: a pull from a holder that lost the blob fails and drops it there.
            sources.RetainHolder(node, held, time.MonotonicNow());
        }

        return Results.Json(new AcceptedReply(accepted), InventoryJson.Default.AcceptedReply, statusCode: StatusCodes.Status202Accepted);
    });

    internal sealed record AcceptedReply(int Accepted);

    /// <summary>Reports are read source-generated, web casing, at most 8 levels deep.</summary>
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web, MaxDepth = 8)]
    [JsonSerializable(typeof(List<InventoryEntry>))]
    [JsonSerializable(typeof(AcceptedReply))]
    private sealed partial class InventoryJson : JsonSerializerContext;
}
