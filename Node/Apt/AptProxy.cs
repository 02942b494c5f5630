using System.Collections.Concurrent;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Updating;
using PeerPatch.Storage;

namespace PeerPatch.Node.Apt;

/// <summary>
/// The HTTP proxy apt uses (Acquire::http::Proxy "http://NODE:47471"), on the node's HTTP port.
/// <list type="bullet">
/// <item>A .deb whose SHA-256 this node learned from a Packages index goes through the method like any patch: local
/// store, LAN server hit, or one internet download under a claim (pushed for the next PC), checked against that hash;
/// then served from the store. Concurrent requests for one file on this node share one fetch.</item>
/// <item>Everything else (InRelease, Release, Packages*, by-hash, a .deb of unknown hash) passes through to upstream
/// unchanged and uncached, request validators included, so apt's freshness checks see the origin's own answers and
/// no index is ever stale. Packages and Packages.gz are read on the way (tee) to learn hashes.</item>
/// <item>If the LAN side fails, the package is passed through from upstream: an update is never blocked.</item>
/// </list>
/// </summary>
internal sealed partial class AptProxy(
    AptCatalog catalog,
    PatchPipeline pipeline,
    Redirect.RedirectCache cache,
    BlobStore store,
    NodeIdentity self,
    NodeStats stats,
    [FromKeyedServices(HttpClients.Internet)] HttpClient internet,
    ILogger<AptProxy> logger)
{
    private static readonly ApplySpec NotApplied = new("/bin/false", [], null);
    private readonly ConcurrentDictionary<string, Lazy<Task<PatchPipeline.Obtained>>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>True for a proxy request: an absolute-form target (GET http://host/path HTTP/1.1).</summary>
    public static bool IsProxyRequest(HttpContext ctx, out Uri target)
    {
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (raw is not null && raw.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(raw, UriKind.Absolute, out var uri))
        {
            target = uri;
            return true;
        }

        target = null!;
        return false;
    }

    /// <summary>The origin URL of a request that came to a redirected domain: http://HOST/path?query.</summary>
    public static Uri? TransparentTarget(HttpContext ctx)
    {
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return raw is not null && raw.StartsWith('/') && Uri.TryCreate($"http://{ctx.Request.Host.Host}{raw}", UriKind.Absolute, out var uri) ? uri : null;
    }

    /// <param name="transparent">
    /// True when the hosts file sent the request here (redirect mode): files that are not LAN patches go through the
    /// revalidating <see cref="Redirect.RedirectCache"/> instead of passing through.
    /// </param>
    public async Task HandleAsync(HttpContext ctx, Uri target, bool transparent)
    {
        if (!HttpMethods.IsGet(ctx.Request.Method) && !HttpMethods.IsHead(ctx.Request.Method))
        {
            ctx.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        if (!transparent && !await Relay.MayReachAsync(ctx.Connection.RemoteIpAddress, target.Host, ctx.RequestAborted).ConfigureAwait(false))
        {
            Log.LoopbackRefused(logger, target, ctx.Connection.RemoteIpAddress?.ToString() ?? "?");
            ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        if (IsPackage(target) && catalog.TryGet(target, out var sha, out var size) && !ctx.Request.Headers.ContainsKey("Range"))
        {
            var name = Uri.UnescapeDataString(target.Segments[^1]);
            if (Protocol.WireFormat.IsPatchName(name) && await ServePackageAsync(ctx, new PatchSpec(self.OsVersion, name, target, sha, size, NotApplied)).ConfigureAwait(false))
            {
                return;
            }
        }

        if (transparent && HttpMethods.IsGet(ctx.Request.Method) && !AptCatalog.IsReadableIndex(target)
            && !ctx.Request.Headers.ContainsKey("Range") && !ctx.Request.Headers.ContainsKey("If-None-Match") && !ctx.Request.Headers.ContainsKey("If-Modified-Since"))
        {
            await cache.ServeAsync(ctx, target).ConfigureAwait(false);
            return;
        }

        await PassThroughAsync(ctx, target).ConfigureAwait(false);
    }

    internal static bool IsPackage(Uri url) =>
        url.AbsolutePath.EndsWith(".deb", StringComparison.Ordinal) || url.AbsolutePath.EndsWith(".udeb", StringComparison.Ordinal);

    private async Task<bool> ServePackageAsync(HttpContext ctx, PatchSpec patch)
    {
        PatchPipeline.Obtained obtained;
        // One fetch per file at a time on this node; a finished one (kept if its last waiter left early) is not reused.
        Lazy<Task<PatchPipeline.Obtained>> Start() => new(() => pipeline.ObtainAsync(patch, CancellationToken.None));
        var lazy = _inFlight.AddOrUpdate(patch.Sha256, _ => Start(), (_, old) => old.IsValueCreated && old.Value.IsCompleted ? Start() : old);
        try
        {
            obtained = await lazy.Value.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompleted)
            {
                _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<PatchPipeline.Obtained>>>(patch.Sha256, lazy));
            }
        }

        var stream = obtained.Result.Ok ? store.OpenRead(patch.Sha256) : null;
        if (stream is null)
        {
            Log.PackageFallback(logger, patch.Name, obtained.Result.Error ?? "blob vanished");
            return false;
        }

        await using (stream.ConfigureAwait(false))
        {
            Log.PackageServed(logger, patch.Name, obtained.From, patch.Size);
            ctx.Response.StatusCode = StatusCodes.Status200OK;
            ctx.Response.ContentType = "application/vnd.debian.binary-package";
            ctx.Response.ContentLength = stream.Length;
            if (!HttpMethods.IsHead(ctx.Request.Method))
            {
                await stream.CopyToAsync(ctx.Response.Body, 128 * 1024, ctx.RequestAborted).ConfigureAwait(false);
            }
        }

        return true;
    }

    private async Task PassThroughAsync(HttpContext ctx, Uri target)
    {
        using var request = new HttpRequestMessage(new HttpMethod(ctx.Request.Method), target);
        foreach (var (key, value) in ctx.Request.Headers)
        {
            if (!Relay.IsHopByHop(key) && !request.Headers.TryAddWithoutValidation(key, (IEnumerable<string?>)value))
            {
                Log.HeaderDropped(logger, key);
            }
        }

        HttpResponseMessage response;
        try
        {
            response = await internet.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            Log.UpstreamFailed(logger, target, e.Message);
            await Relay.BadGatewayAsync(ctx, target, e.Message).ConfigureAwait(false);
            return;
        }

        using (response)
        {
            Relay.CopyHeaders(response, ctx.Response);
            if (HttpMethods.IsHead(ctx.Request.Method))
            {
                return;
            }

            var body = await response.Content.ReadAsStreamAsync(ctx.RequestAborted).ConfigureAwait(false);
            var learn = response.IsSuccessStatusCode && response.StatusCode != System.Net.HttpStatusCode.PartialContent && AptCatalog.IsReadableIndex(target);
            await CopyAsync(body, ctx.Response.Body, learn ? target : null, ctx.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>Streams upstream to apt; an index is also fed, chunk by chunk, to the catalog through a pipe.</summary>
    private async Task CopyAsync(Stream from, Stream to, Uri? index, CancellationToken ct)
    {
        var pipe = index is null ? null : new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19));
        var learning = pipe is null ? Task.CompletedTask : catalog.LearnAsync(index!, pipe.Reader, CancellationToken.None);
        try
        {
            await Relay.CopyAsync(from, to, pipe is null ? null : async chunk =>
            {
                if (!learning.IsCompleted)
                {
                    await pipe.Writer.WriteAsync(chunk, ct).ConfigureAwait(false);
                }
            }, stats, ct).ConfigureAwait(false);
        }
        finally
        {
            if (pipe is not null)
            {
                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                await learning.ConfigureAwait(false);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 810, Level = LogLevel.Information, Message = "apt: {Patch} served from the store ({From}, {Bytes} bytes)")]
        public static partial void PackageServed(ILogger logger, string patch, string from, long bytes);

        [LoggerMessage(EventId = 811, Level = LogLevel.Warning, Message = "apt: {Patch} not obtained through the LAN ({Error}); passing it through from upstream")]
        public static partial void PackageFallback(ILogger logger, string patch, string error);

        [LoggerMessage(EventId = 812, Level = LogLevel.Warning, Message = "apt: upstream {Url} failed: {Error}")]
        public static partial void UpstreamFailed(ILogger logger, Uri url, string error);

        [LoggerMessage(EventId = 814, Level = LogLevel.Warning, Message = "apt: proxy request for {Url} from {Client} refused: it would reach this machine's loopback")]
        public static partial void LoopbackRefused(ILogger logger, Uri url, string client);

        [LoggerMessage(EventId = 813, Level = LogLevel.Debug, Message = "apt: request header {Header} not forwarded")]
        public static partial void HeaderDropped(ILogger logger, string header);
    }
}
