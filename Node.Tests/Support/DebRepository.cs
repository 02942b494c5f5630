using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// A Debian-style repository as "the internet": real .deb files built with dpkg-deb, a Packages index made by
/// dpkg-scanpackages (plain and gzip), a Release file with their SHA-256 sums (dists/stable/main/binary-amd64), served
/// by Kestrel's static files (ETag, Last-Modified, conditional GETs) on 127.0.0.1, counting each file's 200 bodies.
/// </summary>
internal sealed partial class DebRepository : IAsyncDisposable
{
    public const string Suite = "stable";
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
    private readonly TempDir _dir = new();
    private WebApplication? _app;

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>Bytes per second for .deb bodies (the pool), like a WAN link; 0 = unlimited.</summary>
    public long PoolRateLimit { get; set; }

    public string Root => _dir.Path;

    /// <summary>The packages: name, version, .deb path relative to the root, size, SHA-256.</summary>
    public List<(string Package, string Version, string Filename, long Size, string Sha256)> Packages { get; } = [];

    public long UniqueDebBytes => Packages.Sum(p => p.Size);

    public static async Task<DebRepository> CreateAsync(IEnumerable<(string Package, string Version, int PayloadBytes)> packages, IPAddress? bind = null, int port = 0)
    {
        var repo = new DebRepository();
        foreach (var (package, version, payload) in packages)
        {
            repo.Packages.Add(await repo.BuildDebAsync(package, version, payload));
        }

        await repo.IndexAsync();
        await repo.StartAsync(bind ?? IPAddress.Loopback, port);
        return repo;
    }

    /// <summary>Bytes of 200 responses for the file at <paramref name="path"/> (relative to the root).</summary>
    public long BytesServed(string path) => _bytes.GetValueOrDefault("/" + path);

    public int Requests(string path) => _requests.GetValueOrDefault("/" + path);

    public string SourcesLine => $"deb [trusted=yes] {BaseUri} {Suite} main";

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_gnupgHome is not null)
        {
            // gpg started an agent for this home: it outlives the directory unless told to stop.
            await ExternalCommand.RunAsync(Root, "gpgconf", ["--homedir", _gnupgHome, "--kill", "all"], allowFailure: true);
        }

        _dir.Dispose();
    }

    private async Task<(string, string, string, long, string)> BuildDebAsync(string package, string version, int payloadBytes)
    {
        var build = Path.Combine(Root, "build", package);
        Directory.CreateDirectory(Path.Combine(build, "DEBIAN"));
        Directory.CreateDirectory(Path.Combine(build, "usr", "share", package));
        var payload = new byte[payloadBytes];
        new Random(package.GetHashCode(StringComparison.Ordinal) ^ version.Length).NextBytes(payload); // incompressible
        await File.WriteAllBytesAsync(Path.Combine(build, "usr", "share", package, "payload.bin"), payload);
        await File.WriteAllTextAsync(Path.Combine(build, "DEBIAN", "control"),
            $"Package: {package}\nVersion: {version}\nArchitecture: all\nMaintainer: PeerPatch tests <tests@example.invalid>\nDescription: test package {package}\n");
        var pool = Path.Combine(Root, "pool", "main", package[..1], package);
        Directory.CreateDirectory(pool);
        var deb = Path.Combine(pool, $"{package}_{version}_all.deb");
        await RunAsync(Root, "dpkg-deb", "--root-owner-group", "-Zgzip", "--build", build, deb);
        Directory.Delete(build, recursive: true);
        var bytes = await File.ReadAllBytesAsync(deb);
        return (package, version, Path.GetRelativePath(Root, deb).Replace('\\', '/'), bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private async Task IndexAsync()
    {
        var dir = Path.Combine(Root, "dists", Suite, "main", "binary-amd64");
        Directory.CreateDirectory(dir);
        var packages = await RunAsync(Root, "dpkg-scanpackages", "--multiversion", "pool");
        await File.WriteAllTextAsync(Path.Combine(dir, "Packages"), packages);
        await using (var gz = new GZipStream(File.Create(Path.Combine(dir, "Packages.gz")), CompressionLevel.Optimal))
        {
            await gz.WriteAsync(Encoding.UTF8.GetBytes(packages));
        }

        var release = new StringBuilder($"Suite: {Suite}\nCodename: {Suite}\nArchitectures: amd64 all\nComponents: main\nDate: {DateTime.UtcNow:R}\nSHA256:\n");
        foreach (var name in new[] { "Packages", "Packages.gz" })
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(dir, name));
            release.Append($" {Convert.ToHexStringLower(SHA256.HashData(bytes))} {bytes.Length} main/binary-amd64/{name}\n");
        }

        await File.WriteAllTextAsync(Path.Combine(Root, "dists", Suite, "Release"), release.ToString());
    }

    private async Task StartAsync(IPAddress bind, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(bind, port));
        _app = builder.Build();
        _app.Use(async (ctx, next) =>
        {
            if (PoolRateLimit > 0 && ctx.Request.Path.StartsWithSegments("/pool", StringComparison.Ordinal))
            {
                var body = ctx.Features.Get<IHttpResponseBodyFeature>()!;
                ctx.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(new ThrottledStream(body.Stream, PoolRateLimit)));
            }

            if (HttpMethods.IsGet(ctx.Request.Method))
            {
                // Counted as the 200 starts, before the client can read it: counting after next() returned raced a
                // client that checks the count as soon as it has the response (seen with tests in parallel).
                ctx.Response.OnStarting(() =>
                {
                    if (ctx.Response.StatusCode == 200)
                    {
                        var path = ctx.Request.Path.Value!;
                        _requests.AddOrUpdate(path, 1, (_, n) => n + 1);
                        _bytes.AddOrUpdate(path, ctx.Response.ContentLength ?? 0, (_, n) => n + (ctx.Response.ContentLength ?? 0));
                    }

                    return Task.CompletedTask;
                });
            }

            await next(ctx);
        });
        _app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(Root), ServeUnknownFileTypes = true });
        await _app.StartAsync();
        BaseUri = new Uri(_app.Urls.First() + "/");
    }

    private static async Task<string> RunAsync(string cwd, string file, params string[] args) => (await ExternalCommand.RunAsync(cwd, file, args)).Stdout;
}
