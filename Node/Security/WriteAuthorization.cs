using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Security;

/// <summary>
/// With a cluster key, every request that is not GET, HEAD or OPTIONS (blob pushes, inventory reports, update passes,
/// and whatever write comes later) must carry a fresh <see cref="Protocol.Security.HttpSignature"/>;
/// otherwise 401 with the reason, before the endpoint reads a byte of the body. Reads stay open to the LAN.
/// </summary>
internal static partial class WriteAuthorization
{
    public static void Use(WebApplication app)
    {
        var auth = app.Services.GetRequiredService<ClusterAuth>();
        if (!auth.Keyed)
        {
            return;
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PeerPatch.Node.Security");
        app.Use(async (ctx, next) =>
        {
            var request = ctx.Request;
            // Every path, not only /v1/...: routing matches paths case-insensitively ("/V1/blobs"), and nothing that
            // writes may be reached around this check. (Proxy and redirect requests were taken before this point.)
            if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
            {
                await next(ctx).ConfigureAwait(false);
                return;
            }

            if (!auth.TryAuthorize(request, out var error))
            {
                Log.Refused(logger, request.Method, request.Path.Value ?? string.Empty, ctx.Connection.RemoteIpAddress?.ToString() ?? "?", error);
                ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
                ctx.Response.Headers.WWWAuthenticate = Protocol.Security.HttpSignature.Scheme;
                ctx.Response.Headers.Connection = "close"; // the unread body is not drained
                await ctx.Response.WriteAsync(error + "\n").ConfigureAwait(false);
                return;
            }

            await next(ctx).ConfigureAwait(false);
        });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "refused {Method} {Path} from {Remote}: {Error}")]
        public static partial void Refused(ILogger logger, string method, string path, string remote, string error);
    }
}
