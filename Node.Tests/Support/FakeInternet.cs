using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// "The internet" for tests: a Kestrel server on 127.0.0.1 serving patch feeds and generated patch files,
/// counting every body byte it writes per file, optionally rate-limited per connection.
/// </summary>
internal sealed class FakeInternet : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, GeneratedContent> _files = new();
    private readonly ConcurrentDictionary<string, string> _feeds = new();
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private readonly ConcurrentDictionary<string, int> _requests = new();
    private readonly ConcurrentDictionary<string, UpstreamFault> _faults = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(TimeSpan At, int Bytes)>> _timeline = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly ConcurrentDictionary<string, int> _headerNames = new(StringComparer.OrdinalIgnoreCase);

    private FakeInternet(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>Bytes per second per connection for file bodies; 0 = unlimited.</summary>
    public long RateLimit { get; set; }

    /// <summary>The name of every request header any request carried so far, with how many requests carried it.</summary>
    public IReadOnlyDictionary<string, int> HeaderNames => new Dictionary<string, int>(_headerNames, StringComparer.OrdinalIgnoreCase);

    /// <param name="sendBufferBytes">
    /// A fixed socket send buffer for the upstream's connections (Linux otherwise grows it to megabytes on loopback,
    /// and bytes written into it count as sent long before they cross the link): for tests that measure the rate the
    /// upstream sends at, as a real internet link's queue would. Null: the system's default.
    /// </param>
    public static async Task<FakeInternet> StartAsync(IPAddress? bind = null, int? sendBufferBytes = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (sendBufferBytes is { } bytes)
        {
            builder.WebHost.UseSockets(o => o.CreateBoundListenSocket = endPoint =>
            {
                var socket = Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions.CreateDefaultBoundListenSocket(endPoint);
                socket.SendBufferSize = bytes; // inherited by the accepted connections
                return socket;
            });
        }

        builder.WebHost.ConfigureKestrel(k => k.Listen(bind ?? IPAddress.Loopback, 0));
        var app = builder.Build();
        var internet = new FakeInternet(app);
        app.Use((ctx, next) =>
        {
            foreach (var name in ctx.Request.Headers.Keys)
            {
                internet._headerNames.AddOrUpdate(name, 1, (_, n) => n + 1);
            }

            return next(ctx);
        });
        app.MapGet("/feeds/{os}.json", (string os) =>
            internet._feeds.TryGetValue(os, out var json) ? Results.Text(json, "application/json") : Results.NotFound());
        app.MapGet("/files/{name}", internet.ServeFileAsync);
        app.MapGet("/named/{feed}.json", (string feed) =>
            internet._feeds.TryGetValue("named:" + feed, out var json) ? Results.Text(json, "application/json") : Results.NotFound());
        await app.StartAsync();
        internet.BaseUri = new Uri(app.Urls.First() + "/");
        return internet;
    }

    public string FeedUrlTemplate => new Uri(BaseUri, "feeds/").ToString() + "{os}.json";

    public GeneratedContent AddFile(string name, long size, int seed) => _files[name] = new GeneratedContent(size, seed);

    public Uri FileUrl(string name) => new(BaseUri, "files/" + name);

    /// <summary>Publishes a feed whose patches write "sha256-of-the-file name" into applied.log in the node's work dir.</summary>
    public void SetFeed(string os, IEnumerable<(string Patch, string File)> patches) => _feeds[os] = FeedJson(os, patches);

    /// <summary>Publishes a feed at /named/NAME.json (for nodes that must see different lists).</summary>
    public Uri SetNamedFeed(string name, string os, IEnumerable<(string Patch, string File)> patches)
    {
        _feeds["named:" + name] = FeedJson(os, patches);
        return new Uri(BaseUri, $"named/{name}.json");
    }

    /// <summary>Publishes a feed given as JSON at /named/NAME.json (a feed with its own apply commands).</summary>
    public Uri SetNamedRawFeed(string name, string json)
    {
        _feeds["named:" + name] = json;
        return new Uri(BaseUri, $"named/{name}.json");
    }

    private string FeedJson(string os, IEnumerable<(string Patch, string File)> patches)
    {
        var list = patches.Select(p => new
        {
            name = p.Patch,
            url = FileUrl(p.File).ToString(),
            sha256 = _files[p.File].Sha256,
            size = _files[p.File].Size,
            apply = new
            {
                command = "/bin/sh",
                args = new[] { "-c", "echo \"$(sha256sum \"$1\" | cut -c1-64) $2\" >> applied.log", "sh", "{file}", p.Patch },
            },
        });
        return JsonSerializer.Serialize(new { os, patches = list });
    }

    public void SetRawFeed(string os, string json) => _feeds[os] = json;

    /// <summary>Makes every request for <paramref name="file"/> go wrong in the given way.</summary>
    public void SetFault(string file, UpstreamFault fault) => _faults[file] = fault;


    public long BytesServed(string file) => _bytes.GetValueOrDefault(file);

    /// <summary>Every write of a file's bytes to a client, as (time since this upstream started, bytes): the upstream's own measure of its rate.</summary>
    public IReadOnlyList<(TimeSpan At, int Bytes)> Timeline(string file) => _timeline.TryGetValue(file, out var q) ? [.. q] : [];

    /// <summary>The most bytes of <paramref name="file"/> written within any span of <paramref name="window"/>.</summary>
    public long MaxBytesWithin(string file, TimeSpan window)
    {
        var writes = Timeline(file);
        long best = 0, sum = 0;
        for (int start = 0, end = 0; end < writes.Count; end++)
        {
            sum += writes[end].Bytes;
            while (writes[end].At - writes[start].At >= window)
            {
                sum -= writes[start++].Bytes;
            }

            best = Math.Max(best, sum);
        }

        return best;
    }

    public int Requests(string file) => _requests.GetValueOrDefault(file);

    public long TotalFileBytesServed => _bytes.Values.Sum();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task ServeFileAsync(HttpContext ctx, string name)
    {
        if (!_files.TryGetValue(name, out var content))
        {
            ctx.Response.StatusCode = 404;
            return;
        }

        _requests.AddOrUpdate(name, 1, (_, n) => n + 1);
        var fault = _faults.GetValueOrDefault(name);
        if (fault == UpstreamFault.NotFound)
        {
            ctx.Response.StatusCode = 404;
            return;
        }

        var length = fault == UpstreamFault.WrongLength ? content.Size - 100 : content.Size;
        var stopAt = fault switch
        {
            UpstreamFault.Reset => 0,
            UpstreamFault.ShortBody or UpstreamFault.Stall => content.Size / 2,
            _ => length,
        };
        ctx.Response.ContentLength = length;
        ctx.Response.ContentType = "application/octet-stream";
        var buffer = new byte[GeneratedContent.BlockBytes];
        var started = System.Diagnostics.Stopwatch.StartNew();
        long sent = 0;
        try
        {
            for (long offset = 0; offset < stopAt; offset += GeneratedContent.BlockBytes)
            {
                var n = (int)Math.Min(content.Fill(buffer, offset), stopAt - offset);
                if (fault == UpstreamFault.WrongBytes && offset == 0)
                {
                    buffer[0] ^= 0xff;
                }

                await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, n), ctx.RequestAborted);
                _bytes.AddOrUpdate(name, n, (_, v) => v + n);
                _timeline.GetOrAdd(name, _ => new()).Enqueue((_clock.Elapsed, n));
                sent += n;
                if (RateLimit > 0)
                {
                    var due = TimeSpan.FromSeconds(sent / (double)RateLimit) - started.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, ctx.RequestAborted);
                    }
                }
            }

            if (stopAt < length)
            {
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                if (fault == UpstreamFault.Stall)
                {
                    await Task.Delay(Timeout.Infinite, ctx.RequestAborted); // until the client gives up
                }

                ctx.Abort(); // connection reset / body cut short
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // client went away
        }
    }
}
