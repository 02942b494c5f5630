using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Security;

/// <summary>
/// With a cluster key, blobs and their piece lists (GET/HEAD under /v1/blobs/) are served only to members: the request
/// must carry a fresh <see cref="Protocol.Security.HttpSignature"/> made with the key. Unsigned: 401; signed but not
/// with this key (or stale, or replayed): 403. Both are counted (<see cref="NodeStats.BlobReadRefused"/>). The status
/// pages, metrics and dashboard stay open to the LAN. Without a key nothing changes: the LAN is open and the hashes
/// guard the bytes.
/// </summary>
internal static partial class ReadAuthorization
{
    private const string BlobPrefix = "/v1/blobs/";

    public static void Use(WebApplication app)
    {
        var auth = app.Services.GetRequiredService<ClusterAuth>();
        if (!auth.Keyed)
        {
            return;
        }

        var stats = app.Services.GetRequiredService<NodeStats>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PeerPatch.Node.Security");
        app.Use(async (ctx, next) =>
        {
            var request = ctx.Request;
            // Case-insensitive like routing ("/V1/Blobs/..." reaches the same endpoint).
            if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
                || !(request.Path.Value ?? string.Empty).StartsWith(BlobPrefix, StringComparison.OrdinalIgnoreCase))
            {
                await next(ctx).ConfigureAwait(false);
                return;
            }

            if (!auth.TryAuthorize(request, out var error))
            {
                var unsigned = string.IsNullOrEmpty(request.Headers.Authorization.ToString());
                stats.BlobReadRefused(unsigned);
                Log.Refused(logger, request.Method, request.Path.Value ?? string.Empty, ctx.Connection.RemoteIpAddress?.ToString() ?? "?", error);
                ctx.Response.StatusCode = unsigned ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
                ctx.Response.Headers.WWWAuthenticate = Protocol.Security.HttpSignature.Scheme;
                await ctx.Response.WriteAsync(error + "\n").ConfigureAwait(false);
                return;
            }

            await next(ctx).ConfigureAwait(false);
        });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "refused {Method} {Path} from {Remote}: {Error}")]
        public static partial void Refused(ILogger logger, string method, string path, string remote, string error);
    }
}
