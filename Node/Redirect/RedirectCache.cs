using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Apt;

namespace PeerPatch.Node.Redirect;

/// <summary>
/// The transparent cache for redirected domains' files that are not LAN patches: each URL's last 200 response (body
/// and validators) under &lt;data&gt;/redirect-cache, always revalidated with the origin (If-None-Match /
/// If-Modified-Since), so nothing is served staler than the origin allows; served as is on a 304, and also when the
/// origin cannot be reached (stale-if-error, with a Warning header) so that updates keep working. Responses without
/// a validator, marked no-store/private, encoded (Content-Encoding) or varying on more than the encoding are passed
/// through uncached. An origin's redirect goes back to the client as it is (the client follows it, through the hosts
/// file again when it names a redirected domain): the cache never follows one itself, so an origin cannot point it at
/// this machine or a LAN host and have that answer served to whoever asked. Bodies are streamed to the client and to
/// a temp file at once (renamed into place when complete); the oldest entries go beyond <see cref="CapBytes"/>.
/// </summary>
internal sealed partial class RedirectCache(
    CoreOptions options,
    NodeStats stats,
    [FromKeyedServices(HttpClients.InternetRelay)] HttpClient internet,
    ILogger<RedirectCache> logger)
{
    public const long CapBytes = 2L << 30;
    private static readonly string[] Passed = ["Accept", "Accept-Encoding", "User-Agent", "Cache-Control", "Pragma"];
    private readonly string _dir = WithoutLeftovers(Path.Combine(options.DataDir, "redirect-cache"));

    /// <summary>Serves <paramref name="target"/> (an http URL with a canonical path; anything else is a 400).</summary>
    public Task ServeAsync(HttpContext ctx, Uri target)
    {
        if (ArchiveUrl.TryFromUri(target, out var url))
        {
            return ServeAsync(ctx, url);
        }

        ctx.Response.StatusCode = StatusCodes.Status400BadRequest;
        return Task.CompletedTask;
    }

    /// <summary>Serves <paramref name="target"/>, keyed by its canonical form: every spelling of one URL is one entry.</summary>
    public async Task ServeAsync(HttpContext ctx, ArchiveUrl target)
    {
        Directory.CreateDirectory(_dir);
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(target.KeyWithQuery)));
        var body = Path.Combine(_dir, key);
        var meta = await ReadMetaAsync(body + ".json").ConfigureAwait(false);
        if (meta is not null && !File.Exists(body))
        {
            meta = null;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, target.ToUri());
        foreach (var name in Passed)
        {
            if (ctx.Request.Headers.TryGetValue(name, out var v))
            {
                request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)v);
            }
        }

        if (meta?.ETag is { } etag)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", etag);
        }

        if (meta?.LastModified is { } lastModified)
        {
            request.Headers.TryAddWithoutValidation("If-Modified-Since", lastModified);
        }

        HttpResponseMessage response;
        try
        {
            response = await internet.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (meta is not null)
        {
            Log.Stale(logger, target, e.Message);
            ctx.Response.Headers["Warning"] = "111 PeerPatch \"Revalidation Failed\"";
            await SendCachedAsync(ctx, body, meta).ConfigureAwait(false);
            return;
        }
        catch (HttpRequestException e)
        {
            Log.Unreachable(logger, target, e.Message);
            await Relay.BadGatewayAsync(ctx, target.Host, e.Message).ConfigureAwait(false);
            return;
        }

        using (response)
        {
            if (response.StatusCode == System.Net.HttpStatusCode.NotModified && meta is not null)
            {
                Log.Revalidated(logger, target);
                await SendCachedAsync(ctx, body, meta).ConfigureAwait(false);
                return;
            }

            Relay.CopyHeaders(response, ctx.Response);
            var cc = response.Headers.CacheControl;
            // One entry per URL holds one representation: an encoded one (a client asked for gzip) would be served as the
            // file itself to the next client, and a Vary on anything but the encoding names representations it cannot tell apart.
            var store = response.StatusCode == System.Net.HttpStatusCode.OK && cc is not { NoStore: true } && cc is not { Private: true }
                && (response.Headers.ETag is not null || response.Content.Headers.LastModified is not null)
                && response.Content.Headers.ContentEncoding.All(e => e.Equals("identity", StringComparison.OrdinalIgnoreCase))
                && response.Headers.Vary.All(v => v.Equals("Accept-Encoding", StringComparison.OrdinalIgnoreCase))
                && response.Content.Headers.ContentLength is { } length && length <= options.MaxPatchBytes;
            await using var upstream = await response.Content.ReadAsStreamAsync(ctx.RequestAborted).ConfigureAwait(false);
            if (!store)
            {
                await Relay.CopyAsync(upstream, ctx.Response.Body, null, stats, ctx.RequestAborted).ConfigureAwait(false);
                return;
            }

            // Storing is best effort: a full or failing disk ends the copy to the file, never the client's download.
            var temp = body + ".tmp-" + Guid.NewGuid().ToString("n");
            var file = TryCreate(temp, target);
            try
            {
                await Relay.CopyAsync(upstream, ctx.Response.Body, file is null ? null : async chunk =>
                {
                    try
                    {
                        if (file is not null)
                        {
                            await file.WriteAsync(chunk, ctx.RequestAborted).ConfigureAwait(false);
                        }
                    }
                    catch (IOException e)
                    {
                        Log.NotStored(logger, target, e.Message);
                        await file!.DisposeAsync().ConfigureAwait(false);
                        file = null;
                    }
                }, stats, ctx.RequestAborted).ConfigureAwait(false);
                if (file is not null && file.Length == response.Content.Headers.ContentLength) // else cut short: not cached
                {
                    var entry = new Meta(response.Headers.ETag?.ToString(), response.Content.Headers.LastModified?.ToString("R"), response.Content.Headers.ContentType?.ToString());
                    try
                    {
                        await StoreAsync(file, temp, body, entry).ConfigureAwait(false);
                        file = null; // closed by StoreAsync
                        Log.Cached(logger, target, response.Content.Headers.ContentLength ?? 0);
                        Trim();
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        Log.NotStored(logger, target, e.Message); // the client has the whole file; only storing it failed
                    }
                }
            }
            finally
            {
                if (file is not null)
                {
                    await file.DisposeAsync().ConfigureAwait(false);
                }

                File.Delete(temp);
            }
        }
    }

    /// <summary>The temp file of a body being stored (unbuffered: the copy writes 64 KiB chunks), or null when the disk refuses it.</summary>
    private FileStream? TryCreate(string temp, ArchiveUrl target)
    {
        try
        {
            return new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.NotStored(logger, target, e.Message);
            return null;
        }
    }

    /// <summary>Puts a complete body in place: the old validators go first, so a failure between the steps leaves no entry rather than a mismatched one.</summary>
    private static async Task StoreAsync(FileStream file, string temp, string body, Meta entry)
    {
        file.Flush(flushToDisk: true);
        await file.DisposeAsync().ConfigureAwait(false);
        File.Delete(body + ".json");
        File.Move(temp, body, overwrite: true);
        await File.WriteAllTextAsync(body + ".json", JsonSerializer.Serialize(entry, MetaJson.Default.Meta)).ConfigureAwait(false);
    }

    /// <summary>The cache directory, without the temp files of downloads that died with an earlier run of the node (nothing else would remove them).</summary>
    private static string WithoutLeftovers(string dir)
    {
        try
        {
            foreach (var temp in Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*.tmp-*") : [])
            {
                File.Delete(temp);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // tried again at the next start
        }

        return dir;
    }

    private static async Task SendCachedAsync(HttpContext ctx, string body, Meta meta)
    {
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.Headers["X-PeerPatch-Cache"] = "hit";
        if (meta.ETag is { } etag)
        {
            ctx.Response.Headers.ETag = etag;
        }

        if (meta.LastModified is { } lm)
        {
            ctx.Response.Headers.LastModified = lm;
        }

        ctx.Response.ContentType = meta.ContentType ?? "application/octet-stream";
        ctx.Response.ContentLength = new FileInfo(body).Length;
        await ctx.Response.SendFileAsync(body, ctx.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<Meta?> ReadMetaAsync(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(await File.ReadAllTextAsync(path).ConfigureAwait(false), MetaJson.Default.Meta) : null;
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null;
        }
    }

    /// <summary>Deletes the least recently written entries while the cache is over its cap.</summary>
    private void Trim()
    {
        var files = new DirectoryInfo(_dir).GetFiles().Where(f => f.Extension.Length == 0).OrderBy(f => f.LastWriteTimeUtc).ToList();
        var total = files.Sum(f => f.Length);
        foreach (var f in files)
        {
            if (total <= CapBytes)
            {
                break;
            }

            total -= f.Length;
            f.Delete();
            File.Delete(f.FullName + ".json");
        }
    }

    private sealed record Meta(string? ETag, string? LastModified, string? ContentType);

    /// <summary>The .json beside each cached body (default options: the names as written so far).</summary>
    [JsonSerializable(typeof(Meta))]
    private sealed partial class MetaJson : JsonSerializerContext;

    private static partial class Log
    {
        [LoggerMessage(EventId = 830, Level = LogLevel.Information, Message = "redirect cache: {Url} stored ({Bytes} bytes)")]
        public static partial void Cached(ILogger logger, ArchiveUrl url, long bytes);

        [LoggerMessage(EventId = 831, Level = LogLevel.Information, Message = "redirect cache: {Url} not modified: served from the cache")]
        public static partial void Revalidated(ILogger logger, ArchiveUrl url);

        [LoggerMessage(EventId = 832, Level = LogLevel.Warning, Message = "redirect cache: {Url} could not be revalidated ({Error}): served from the cache")]
        public static partial void Stale(ILogger logger, ArchiveUrl url, string error);

        [LoggerMessage(EventId = 833, Level = LogLevel.Warning, Message = "redirect: {Url} unreachable: {Error}")]
        public static partial void Unreachable(ILogger logger, ArchiveUrl url, string error);

        [LoggerMessage(EventId = 834, Level = LogLevel.Warning, Message = "redirect cache: {Url} passed through but not stored: {Error}")]
        public static partial void NotStored(ILogger logger, ArchiveUrl url, string error);
    }
}
