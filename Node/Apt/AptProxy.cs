using System.Collections.Concurrent;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Apt;
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
/// <item>Not an open proxy: only apt files on the origins apt's sources or the admin list, never this machine
/// (<see cref="AptRelayPolicy"/>); anything else is answered 403 and counted.</item>
/// <item>Every URL is taken in its canonical form (<see cref="ArchiveUrl"/>): one key and one upstream spelling per
/// file, whichever escaping the client used.</item>
/// </list>
/// </summary>
internal sealed partial class AptProxy(
    AptCatalog catalog,
    AptRelayPolicy policy,
    PatchPipeline pipeline,
    Redirect.RedirectCache cache,
    BlobStore store,
    NodeIdentity self,
    NodeStats stats,
    [FromKeyedServices(HttpClients.InternetRelay)] HttpClient internet,
    ILogger<AptProxy> logger)
{
    private static readonly ApplySpec NotApplied = new("/bin/false", [], null);
    private readonly ConcurrentDictionary<string, Lazy<Task<PatchPipeline.Obtained>>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>
    /// True for a proxy request: an absolute-form target (GET http://host/path HTTP/1.1); <paramref name="target"/>
    /// is null when it is not a valid http URL with a canonical path (it is then refused).
    /// </summary>
    public static bool IsProxyRequest(HttpContext ctx, out ArchiveUrl? target)
    {
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget;
        target = null;
        if (raw is null || raw.Length == 0 || raw[0] is '/' or '*')
        {
            return false;
        }

        target = ArchiveUrl.TryParseAbsolute(raw, out var url) ? url : null;
        return true;
    }

    /// <summary>
    /// The origin URL of a request that came to a redirected domain: http://HOST/path?query. Only port 80: the hosts
    /// file sends a domain's plain-HTTP traffic here, so a Host header naming another port is never a redirected
    /// request, and must not make the cache a relay to any port of the domain's real address.
    /// </summary>
    public static ArchiveUrl? TransparentTarget(HttpContext ctx) =>
        ArchiveUrl.TryParseOrigin(ctx.Request.Host.Value ?? string.Empty, ctx.Features.Get<IHttpRequestFeature>()?.RawTarget, out var url) && url.Port == 80 ? url : null;

    /// <param name="transparent">
    /// True when the hosts file sent the request here (redirect mode): files that are not LAN patches go through the
    /// revalidating <see cref="Redirect.RedirectCache"/> instead of passing through.
    /// </param>
    public async Task HandleAsync(HttpContext ctx, ArchiveUrl? target, bool transparent)
    {
        var refusal = target is null || target.Query.Length > 0 ? RelayRefusal.NotAptPath
            : !HttpMethods.IsGet(ctx.Request.Method) && !HttpMethods.IsHead(ctx.Request.Method) ? RelayRefusal.Method
            : RelayRefusal.None;
        bool? mayReachThisMachine = null;
        if (refusal == RelayRefusal.None && !transparent)
        {
            (refusal, var admin) = await policy.CheckAsync(new RelayEndpoint(target!.Scheme, target.Host, target.Port), target.Path, ctx.RequestAborted).ConfigureAwait(false);
            mayReachThisMachine = admin;
        }

        if (refusal != RelayRefusal.None && !(transparent && refusal == RelayRefusal.NotAptPath && target is not null))
        {
            var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
            Log.Refused(logger, ctx.Request.Method, Printable(raw), ctx.Connection.RemoteIpAddress?.ToString() ?? "?", refusal);
            stats.ProxyRefusal(ReasonLabel(refusal));
            ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        if ((IsPackage(target!) || AptCatalog.IsByHash(target!)) && catalog.TryGet(target!, out var sha, out var size) && !ctx.Request.Headers.ContainsKey("Range"))
        {
            var name = target!.FileName;
            if (Protocol.WireFormat.IsPatchName(name) && await ServePackageAsync(ctx, new PatchSpec(self.OsVersion, name, target.ToUri(), sha, size, NotApplied), target).ConfigureAwait(false))
            {
                return;
            }
        }

        if (transparent && HttpMethods.IsGet(ctx.Request.Method) && !AptCatalog.IsReadableIndex(target!)
            && !ctx.Request.Headers.ContainsKey("Range") && !ctx.Request.Headers.ContainsKey("If-None-Match") && !ctx.Request.Headers.ContainsKey("If-Modified-Since"))
        {
            await cache.ServeAsync(ctx, target!).ConfigureAwait(false);
            return;
        }

        await PassThroughAsync(ctx, target!, mayReachThisMachine).ConfigureAwait(false);
    }

    /// <summary>The label of a refusal in metrics.</summary>
    internal static string ReasonLabel(RelayRefusal refusal) => refusal switch
    {
        RelayRefusal.NotAptPath => "not_apt_path",
        RelayRefusal.NotListed => "not_listed",
        RelayRefusal.ThisMachine => "this_machine",
        _ => "method",
    };

    /// <summary>An untrusted target as it may be logged: at most 300 characters, escaped as every log string is (<see cref="Protocol.Text.LogText"/>).</summary>
    internal static string Printable(string raw) => Protocol.Text.LogText.Escape(raw.Length > 300 ? raw[..300] : raw);

    internal static bool IsPackage(ArchiveUrl url) =>
        url.Path.EndsWith(".deb", StringComparison.Ordinal) || url.Path.EndsWith(".udeb", StringComparison.Ordinal);

    /// <summary>Serves a file of known hash (a package, a by-hash index) from the store, obtained through the LAN when missing.</summary>
    private async Task<bool> ServePackageAsync(HttpContext ctx, PatchSpec patch, ArchiveUrl target)
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

        if (obtained.HeldBy is { } held)
        {
            // The LAN's internet budget holds it (outside the download window, quota used): passing it through to the
            // internet would spend exactly what the admin kept, once per PC. apt reports the 503 and its reason.
            Log.PackageHeld(logger, patch.Name, held);
            ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            ctx.Response.Headers.RetryAfter = "3600";
            await ctx.Response.WriteAsync($"held by the LAN's policy: {held}\n", ctx.RequestAborted).ConfigureAwait(false);
            return true;
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
            ctx.Response.ContentType = IsPackage(target) ? "application/vnd.debian.binary-package" : "application/octet-stream";
            ctx.Response.ContentLength = stream.Length;
            if (!HttpMethods.IsHead(ctx.Request.Method))
            {
                await stream.CopyToAsync(ctx.Response.Body, 128 * 1024, ctx.RequestAborted).ConfigureAwait(false);
            }
        }

        // A Packages index that came from the LAN teaches this node's catalog as one that passed through would.
        if (AptCatalog.IsReadableIndex(target) && store.OpenRead(patch.Sha256) is { } index)
        {
            await using (index.ConfigureAwait(false))
            {
                await catalog.LearnAsync(target, PipeReader.Create(index), CancellationToken.None).ConfigureAwait(false);
            }
        }

        return true;
    }

    /// <param name="mayReachThisMachine">For a relayed request: whether the connection may go to this machine (checked again at connect time).</param>
    private async Task PassThroughAsync(HttpContext ctx, ArchiveUrl target, bool? mayReachThisMachine)
    {
        using var request = new HttpRequestMessage(new HttpMethod(ctx.Request.Method), target.ToUri());
        if (mayReachThisMachine is { } may)
        {
            request.Options.Set(ConnectGuard.MayReachThisMachine, may);
        }

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
            Log.UpstreamFailed(logger, target.ToString(), e.Message);
            await Relay.BadGatewayAsync(ctx, target.Host, e.Message).ConfigureAwait(false);
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
            var learn = response.IsSuccessStatusCode && response.StatusCode != System.Net.HttpStatusCode.PartialContent
                && (AptCatalog.IsReadableIndex(target) || AptCatalog.IsRelease(target));
            await CopyAsync(body, ctx.Response.Body, learn ? target : null, ctx.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>Streams upstream to apt; an index is also fed, chunk by chunk, to the catalog through a pipe.</summary>
    private async Task CopyAsync(Stream from, Stream to, ArchiveUrl? index, CancellationToken ct)
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

        [LoggerMessage(EventId = 819, Level = LogLevel.Information, Message = "apt: {Patch} held by the LAN's policy ({Reason}): answered 503, not passed through")]
        public static partial void PackageHeld(ILogger logger, string patch, string reason);

        [LoggerMessage(EventId = 812, Level = LogLevel.Warning, Message = "apt: upstream {Url} failed: {Error}")]
        public static partial void UpstreamFailed(ILogger logger, string url, string error);

        [LoggerMessage(EventId = 814, Level = LogLevel.Warning, Message = "apt: proxy request {Method} {Target} from {Client} refused (403): {Reason}")]
        public static partial void Refused(ILogger logger, string method, string target, string client, RelayRefusal reason);

        [LoggerMessage(EventId = 813, Level = LogLevel.Debug, Message = "apt: request header {Header} not forwarded")]
        public static partial void HeaderDropped(ILogger logger, string header);
    }
}
