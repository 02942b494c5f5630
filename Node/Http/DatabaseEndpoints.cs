using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;
using PeerPatch.Protocol.Text;
using PeerPatch.Storage;

namespace PeerPatch.Node.Http;

/// <summary>
/// GET /v1/patches[?os=KEY]: the patch database as JSON (claim 3: the server publishes its database). Upstream URLs
/// are published with their secrets masked (<see cref="SecretRedaction"/>), also for rows stored before that rule.
/// </summary>
internal static class DatabaseEndpoints
{
    public static void Map(WebApplication app) => app.MapGet("/v1/patches", (string? os, PatchDatabase db) =>
    {
        if (os is not null && !WireFormat.IsOsVersion(os))
        {
            return Results.Problem("os must be 1-64 of [a-z0-9._-]", statusCode: StatusCodes.Status400BadRequest);
        }

        var rows = db.ListPatches(os).Select(r => new PatchEntry(
            r.OsVersion, r.PatchName, r.Sha256, r.Size, SecretRedaction.RedactUrl(r.UpstreamUrl), r.AddedAt, r.AddedBy, r.Hits, r.LastHit, BlobUrl.PathOf(r.Sha256)));
        return Results.Json(rows, StatusJsonContext.Default.IEnumerablePatchEntry);
    });
}
