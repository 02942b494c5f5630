using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace PeerPatch.Node.Http;

/// <summary>
/// GET / (the dashboard) and GET /ui/{file}: a page, a script and a style sheet embedded in the executable, so the
/// dashboard works on a LAN without internet. It reads the node's own JSON endpoints; read-only GETs under /v1/ carry
/// "Access-Control-Allow-Origin: *" so the page can also read the LAN server's database and events.
/// </summary>
internal static class DashboardEndpoints
{
    private static readonly Dictionary<string, (string ContentType, byte[] Body)> Files = Load();

    public static void Map(WebApplication app)
    {
        app.Use((ctx, next) =>
        {
            if (HttpMethods.IsGet(ctx.Request.Method) && ctx.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
            {
                ctx.Response.Headers.AccessControlAllowOrigin = "*";
            }

            return next(ctx);
        });
        app.MapGet("/", (HttpContext ctx) => Serve(ctx, "index.html"));
        app.MapGet("/ui/{file}", (HttpContext ctx, string file) => Serve(ctx, file));
    }

    private static IResult Serve(HttpContext ctx, string file)
    {
        if (!Files.TryGetValue(file, out var f))
        {
            return Results.NotFound();
        }

        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers.XContentTypeOptions = "nosniff";
        ctx.Response.Headers.ContentSecurityPolicy = "default-src 'self'; connect-src *; img-src 'self' data:; style-src 'self'";
        return Results.Bytes(f.Body, f.ContentType);
    }

    private static Dictionary<string, (string, byte[])> Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var files = new Dictionary<string, (string, byte[])>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("dashboard/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var file = name["dashboard/".Length..];
            var type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            };
            files[file] = (type, buffer.ToArray());
        }

        return files;
    }
}
