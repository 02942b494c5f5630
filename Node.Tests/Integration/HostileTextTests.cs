using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Security;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 19 with real node processes: a forged log line, URL credentials, and pushes of a blob the server already
/// holds. Each test measures what the issue reported: a forged line of its own, a password in /v1/patches and the
/// logs, a body-less push adding a record.
/// </summary>
[Trait("Category", "Network")]
public sealed class HostileTextTests(ITestOutputHelper output)
{
    private const string Password = "Hunter2pw-9f3c";

    [Fact]
    public async Task ARejectedPatchNameWithANewline_IsOneEscapedLine_OnTheConsoleAndInTheLogFile()
    {
        using var dir = new TempDir();
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var sha = Convert.ToHexStringLower(SHA256.HashData("x"u8));
        using var rejected = await http.PutAsync(new Uri(server.Http, $"v1/blobs/{sha}?os=test-1-amd64&name=KB1%0A%5BERR%5D%20fake%1B%5B2J"), new ByteArrayContent("x"u8.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);

        var escaped = @"push of KB1\n[ERR] fake\u001b[2J";
        await WaitForAsync(() => server.Output.Contains(escaped, StringComparison.Ordinal));
        var console = server.Output.Split('\n');
        var file = await ReadLogsAsync(server.DataDir);
        foreach (var lines in new[] { console, file })
        {
            var line = Assert.Single(lines, l => l.Contains("fake", StringComparison.Ordinal));
            Assert.Contains(escaped, line, StringComparison.Ordinal);
            Assert.Contains("[WRN]", line, StringComparison.Ordinal);
            Assert.DoesNotContain(lines, l => l.StartsWith("[ERR] fake", StringComparison.Ordinal));
            Assert.DoesNotContain(line, c => c == '\u001b' || c == '\r');
        }

        output.WriteLine("console: " + console.Single(l => l.Contains("fake", StringComparison.Ordinal)));
        output.WriteLine("file:    " + file.Single(l => l.Contains("fake", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task OnAnOpenLan_APushOfAHeldBlob_AddsNoRecord_WhileANewBlobIsRecordedAsBefore()
    {
        using var dir = new TempDir();
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        using var http = new HttpClient { BaseAddress = server.Http, Timeout = TimeSpan.FromSeconds(10) };
        var content = new GeneratedContent(100_000, seed: 7).ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));

        using (var first = await http.PutAsync($"/v1/blobs/{sha}?os=test-1-amd64&name=KB-REAL&url=https://up.example/real.bin", new ByteArrayContent(content)))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        // The issue's case: only the hash (public in /v1/patches) and a Content-Length, no body at all.
        var text = await HeadersOnlyPutAsync(server.HttpPort, $"/v1/blobs/{sha}?os=test-1-amd64&name=KB-EVIL&url=http://evil.example/phish", content.Length);
        Assert.StartsWith("HTTP/1.1 200", text, StringComparison.Ordinal);
        Assert.Contains("\"recorded\":false", text, StringComparison.Ordinal);

        var names = (await server.PatchesAsync()).EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();
        Assert.Equal(["KB-REAL"], names);
        Assert.DoesNotContain("evil.example", await http.GetStringAsync("/v1/patches"), StringComparison.Ordinal);
        output.WriteLine($"body-less push of the held blob as KB-EVIL: {text.Split("\r\n")[0]} {text.Split("\r\n\r\n").Last()}; published names: {string.Join(", ", names)}");
    }

    [Fact]
    public async Task WithAClusterKey_ASignedPushOfAHeldBlob_MayNameIt_ButNeverRewritesAnExistingRecord()
    {
        using var dir = new TempDir();
        var key = await KeyedLanTests.KeygenAsync(dir.Sub("cluster.key"));
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server", "--cluster-key-file", key.Path);
        using var http = new HttpClient { BaseAddress = server.Http, Timeout = TimeSpan.FromSeconds(10) };
        var content = new GeneratedContent(100_000, seed: 8).ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));

        async Task<(HttpStatusCode Code, string Body)> SignedPutAsync(string name, string url)
        {
            var target = $"/v1/blobs/{sha}?os=test-1-amd64&name={name}&url={Uri.EscapeDataString(url)}";
            using var request = new HttpRequestMessage(HttpMethod.Put, target) { Content = new ByteArrayContent(content) };
            request.Headers.TryAddWithoutValidation("Authorization", HttpSignature.Create(key.Key, "PUT", target, "member1", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RandomNumberGenerator.GetBytes(16)));
            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.Created, (await SignedPutAsync("KB-A", "https://up.example/a.bin")).Code);
        var second = await SignedPutAsync("KB-B", "https://up.example/b.bin");
        var again = await SignedPutAsync("KB-A", "https://other.example/rewritten.bin");
        Assert.Equal(HttpStatusCode.OK, second.Code);
        Assert.Contains("\"recorded\":true", second.Body, StringComparison.Ordinal);

        var rows = (await server.PatchesAsync()).EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!, r => r.GetProperty("upstreamUrl").GetString());
        Assert.Equal(2, rows.Count);
        Assert.Equal("https://up.example/b.bin", rows["KB-B"]);
        Assert.Equal("https://up.example/a.bin", rows["KB-A"]); // the first record stays
        output.WriteLine($"signed push of the held blob as KB-B: {second}; as KB-A with another URL: {again}; published: {string.Join(", ", rows)}");
    }

    [Fact]
    public async Task FeedCredentials_AreUsedForTheDownloads_ButNeverPublishedLoggedOrShown()
    {
        using var dir = new TempDir();
        await using var internet = await AuthenticatedInternet.StartAsync("alice", Password);
        var file = new GeneratedContent(300_000, seed: 9);
        internet.Feed = JsonSerializer.Serialize(new
        {
            os = "test-1-amd64",
            patches = new[]
            {
                new
                {
                    name = "KB-SECRET",
                    url = $"http://alice:{Password}@127.0.0.1:{internet.Port}/files/f.bin?token={Password}",
                    sha256 = file.Sha256,
                    size = file.Size,
                    apply = new { command = "/bin/sh", args = new[] { "-c", "true" } },
                },
            },
        });
        internet.File = file.ToArray();
        var feed = $"manifest:http://alice:{Password}@127.0.0.1:{internet.Port}/feeds/{{os}}.json";

        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        await using var client = await NodeProcess.StartAsync("client", dir.Sub("client"), "--server", server.ServerAddress, "--source", feed);
        var pass = await client.UpdateAsync();

        // The download used the credentials: the upstream refuses anything else with 401.
        Assert.True(pass.ExitCode == 0, pass.Stdout + pass.Stderr + client.Output);
        Assert.Equal("internet", Assert.Single(pass.Outcomes).GetProperty("from").GetString());
        Assert.Equal(0, internet.Refused);
        Assert.True(internet.Authorized >= 2, $"{internet.Authorized} authorized requests");

        // Published: every read endpoint of both nodes; the server's record keeps the URL, masked.
        var published = new StringBuilder();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var node in new[] { server, client })
        {
            foreach (var path in new[] { "v1/patches", "v1/status", "v1/events?max=500", "v1/members", "v1/lan", "v1/lan?history=1", "v1/history?since=0", "metrics", "" })
            {
                published.Append(await http.GetStringAsync(new Uri(node.Http, path)));
            }
        }

        var row = Assert.Single((await server.PatchesAsync()).EnumerateArray());
        Assert.Equal($"http://***@127.0.0.1:{internet.Port}/files/f.bin?token=***", row.GetProperty("upstreamUrl").GetString());
        var diag = new[]
        {
            await NodeProcess.RunDiagAsync(null, "patches", "--node", server.Http.ToString()),
            await NodeProcess.RunDiagAsync(null, "patches", "--json", "--node", server.Http.ToString()),
            await NodeProcess.RunDiagAsync(null, "nodes", "--node", client.Http.ToString()),
        };
        var logs = server.Output + client.Output + string.Join('\n', await ReadLogsAsync(server.DataDir)) + string.Join('\n', await ReadLogsAsync(client.DataDir));

        Assert.Contains("KB-SECRET", published.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Password, published.ToString(), StringComparison.Ordinal);
        Assert.Contains("***@", logs, StringComparison.Ordinal); // the source URL is logged, masked
        Assert.DoesNotContain(Password, logs, StringComparison.Ordinal);
        Assert.All(diag, d => Assert.Equal(0, d.ExitCode));
        Assert.All(diag, d => Assert.DoesNotContain(Password, d.Stdout + d.Stderr, StringComparison.Ordinal));
        Assert.DoesNotContain(Password, pass.Stdout + pass.Stderr, StringComparison.Ordinal);
        output.WriteLine($"upstream: {internet.Authorized} requests with the credentials, {internet.Refused} refused; published {published.Length} chars, log {logs.Length} chars, diag {diag.Sum(d => d.Stdout.Length)} chars: no password; record: {row.GetProperty("upstreamUrl").GetString()}");
    }

    private static async Task<string[]> ReadLogsAsync(string dataDir)
    {
        var lines = new List<string>();
        foreach (var path in Directory.GetFiles(Path.Combine(dataDir, "logs")))
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            lines.AddRange((await reader.ReadToEndAsync()).Split('\n'));
        }

        return [.. lines];
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "condition not reached in 10 s");
    }

    /// <summary>A PUT that declares a length and sends no body (a push that only knows the hash); the raw response.</summary>
    private static async Task<string> HeadersOnlyPutAsync(int port, string target, long length)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"PUT {target} HTTP/1.1\r\nHost: test\r\nContent-Length: {length}\r\n\r\n"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var response = new StringBuilder();
        var buffer = new byte[4096];
        while (!response.ToString().Contains('}', StringComparison.Ordinal)) // the JSON answer (chunked), then Kestrel waits for the body
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            response.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return response.ToString();
    }

    /// <summary>An upstream that serves its feed and its file only with HTTP Basic credentials.</summary>
    private sealed class AuthenticatedInternet : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _authorized;
        private int _refused;

        private AuthenticatedInternet(WebApplication app) => _app = app;

        public int Port { get; private set; }

        public string Feed { get; set; } = "{}";

        public byte[] File { get; set; } = [];

        public int Authorized => _authorized;

        public int Refused => _refused;

        public static async Task<AuthenticatedInternet> StartAsync(string user, string password)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var internet = new AuthenticatedInternet(app);
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
            app.Use(async (ctx, next) =>
            {
                if (ctx.Request.Headers.Authorization.ToString() != expected)
                {
                    Interlocked.Increment(ref internet._refused);
                    ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return;
                }

                Interlocked.Increment(ref internet._authorized);
                await next(ctx);
            });
            app.MapGet("/feeds/{os}.json", () => Results.Text(internet.Feed, "application/json"));
            app.MapGet("/files/f.bin", () => Results.Bytes(internet.File, "application/octet-stream"));
            await app.StartAsync();
            internet.Port = new Uri(app.Urls.First()).Port;
            return internet;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
