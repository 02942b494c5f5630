using System.Net;
using System.Net.Sockets;
using System.Text;
using PeerPatch.Node.Redirect;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Redirect;

/// <summary>
/// The transparent cache of a redirected domain against a hostile or careless world: an origin that redirects to
/// this machine, an origin that compresses for one client, a DNS that answers with this machine (systemd-resolved
/// and dnsmasq answer from the hosts file, so the node's own redirect comes back). An in-process node, its origin on
/// port 80 of a loopback address of its own (hence root), requests sent to the node with the domain's Host header as
/// the redirect listener relays them.
/// </summary>
[Trait("Category", "Network")]
public sealed class TransparentCacheTests
{
    private const string Domain = "updates.probe.test";

    [RootFact] // the origin needs port 80
    public async Task AnOriginsRedirect_ToAServiceOnThisMachine_IsNotFollowedAndServedToTheLan()
    {
        using var secret = new SecretService(IPAddress.Loopback); // a service only this machine may reach
        var secretPort = secret.Port;
        await using var origin = Origin.Start(IPAddress.Parse("127.0.80.1"), _ =>
            $"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{secretPort}/admin\r\nContent-Length: 0\r\n\r\n");
        using var dns = new TestDnsServer(origin.Address);
        using var dir = new TempDir();
        await using var node = await StartNodeAsync(dir, dns, "127.0.0.1", redirectPort: 0);

        var (status, _, body) = await GetAsync(IPAddress.Loopback, node.Http.Port, "/pool/main/x/x_1.0_all.deb");

        Assert.Equal(0, secret.Reached);
        Assert.DoesNotContain("secret", body, StringComparison.Ordinal);
        Assert.NotEqual(200, status);
    }

    [RootFact] // the origin needs port 80
    public async Task ACompressedAnswerForOneClient_IsNeverServedAsTheFileToAnother()
    {
        var plain = string.Concat(Enumerable.Repeat("Origin: probe\nSuite: stable\n", 40));
        var gzip = Gzip(plain);
        await using var origin = Origin.Start(IPAddress.Parse("127.0.80.2"), request =>
        {
            // An origin like nginx with gzip on: the variant asked for, one validator for both (weakly equal), 304 on a match.
            if (request.Contains("If-None-Match: \"v1\"", StringComparison.OrdinalIgnoreCase))
            {
                return "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nVary: Accept-Encoding\r\n\r\n";
            }

            return request.Contains("Accept-Encoding: gzip", StringComparison.OrdinalIgnoreCase)
                ? $"HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nVary: Accept-Encoding\r\nContent-Encoding: gzip\r\nContent-Length: {gzip.Length}\r\n\r\n" + Encoding.Latin1.GetString(gzip)
                : $"HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nVary: Accept-Encoding\r\nContent-Length: {plain.Length}\r\n\r\n{plain}";
        });
        using var dns = new TestDnsServer(origin.Address);
        using var dir = new TempDir();
        await using var node = await StartNodeAsync(dir, dns, "127.0.0.1", redirectPort: 0);

        // A browser or a script's HTTP library asks for gzip first; then apt (which never does) asks for the same file.
        var (first, firstHead, firstBody) = await GetAsync(IPAddress.Loopback, node.Http.Port, "/dists/stable/Release", "Accept-Encoding: gzip\r\n");
        Assert.Equal(200, first);
        Assert.True(firstBody == plain || firstHead.Contains("Content-Encoding: gzip", StringComparison.OrdinalIgnoreCase), firstHead);
        var (second, secondHead, secondBody) = await GetAsync(IPAddress.Loopback, node.Http.Port, "/dists/stable/Release");

        Assert.Equal(200, second);
        Assert.True(
            secondBody == plain || secondHead.Contains("Content-Encoding: gzip", StringComparison.OrdinalIgnoreCase),
            $"served {secondBody.Length} bytes (starting {Convert.ToHexString(Encoding.Latin1.GetBytes(secondBody[..Math.Min(4, secondBody.Length)]))}) as the plain file:\n{secondHead}");
    }

    [RootFact] // the redirect listener and the origin's port are 80
    public async Task ADomainThatDnsResolvesToThisMachine_IsNotFetchedFromTheNodeItself()
    {
        // systemd-resolved (127.0.0.53 in resolv.conf on Ubuntu) and dnsmasq answer from the hosts file: the node's
        // own redirect comes back as the domain's "real" address, here the node's own address and redirect port.
        var self = IPAddress.Parse("127.0.80.3");
        using var dns = new TestDnsServer(self);
        using var dir = new TempDir();
        await using var node = await StartNodeAsync(dir, dns, self.ToString(), redirectPort: 80);
        // The node reads the hosts file at start and then opens port 80 (RedirectListener).
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); !await ListeningAsync(self, 80); await Task.Delay(50))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(15), "the redirect listener on port 80 within 15 s");
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => GetOrResetAsync(self, 80, $"/dists/stable/Release{i}")));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var status = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"http://{self}:{node.Http.Port}/v1/status")).RootElement;
        var internetBytes = status.GetProperty("stats").GetProperty("internetBytes").GetInt64();
        Assert.True(internetBytes == 0, $"the node fetched {internetBytes} bytes from itself as the origin");
        Assert.All(answers, a => Assert.True(a == 502, $"a client got {(a == 0 ? "its connection reset" : a.ToString(System.Globalization.CultureInfo.InvariantCulture))} instead of 502: {string.Join(", ", answers)}"));
        Assert.Contains("resolves to this machine", node.Log, StringComparison.Ordinal);
    }

    [RootFact] // the origin needs port 80, the full disk a tmpfs
    public async Task AFullDiskUnderTheCache_StillGivesTheClientTheWholeFile()
    {
        var file = new string('d', 3_000_000);
        await using var origin = Origin.Start(IPAddress.Parse("127.0.80.4"), _ =>
            $"HTTP/1.1 200 OK\r\nETag: \"d1\"\r\nContent-Length: {file.Length}\r\n\r\n{file}");
        using var dns = new TestDnsServer(origin.Address);
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "64m");
        await using var node = await StartNodeAsync(dir, dns, "127.0.0.1", redirectPort: 0, dataDir: Path.Combine(disk.Path, "node"));
        Tmpfs.Fill(Path.Combine(disk.Path, "filler")); // another program fills the node's disk

        var (status, head, body) = await GetOrCutAsync(IPAddress.Loopback, node.Http.Port, "/pool/main/d/d/d_1.0_all.deb");

        Assert.Equal(200, status);
        Assert.True(body.Length == file.Length, $"the client got {body.Length} of {file.Length} bytes:\n{head}");
    }

    [RootFact] // the origin needs port 80
    public async Task ATempFileLeftByACrash_IsRemoved()
    {
        await using var origin = Origin.Start(IPAddress.Parse("127.0.80.5"), _ => "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nContent-Length: 2\r\n\r\nok");
        using var dns = new TestDnsServer(origin.Address);
        using var dir = new TempDir();
        // A node killed (power cut, OOM killer) while the cache wrote a body leaves its temp file behind.
        var cache = Path.Combine(dir.Sub("node"), "redirect-cache");
        Directory.CreateDirectory(cache);
        var stale = Path.Combine(cache, new string('a', 64) + ".tmp-" + Guid.NewGuid().ToString("n"));
        await File.WriteAllBytesAsync(stale, new byte[1_000_000]);
        await using var node = await StartNodeAsync(dir, dns, "127.0.0.1", redirectPort: 0);

        var (status, _, _) = await GetAsync(IPAddress.Loopback, node.Http.Port, "/dists/stable/Release");

        Assert.Equal(200, status);
        Assert.False(File.Exists(stale), "the temp file of a download that died with its node is still there (nothing ever removes it; the cap does not count it)");
    }

    private static async Task<InProcessNode> StartNodeAsync(TempDir dir, TestDnsServer dns, string bind, int redirectPort, string? dataDir = null)
    {
        var hosts = dir.Sub("hosts");
        await File.WriteAllTextAsync(hosts, $"127.0.0.1 localhost\n# BEGIN peerpatch redirect\n{bind} {Domain}\n# END peerpatch redirect\n");
        return await InProcessNode.StartAsync(dataDir ?? dir.Sub("node"), TimeProvider.System, new Dictionary<string, string?>
        {
            [nameof(RedirectOptions.HostsFile)] = hosts,
            [nameof(RedirectOptions.RedirectPort)] = redirectPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [nameof(RedirectOptions.RedirectDns)] = dns.EndPoint.ToString(),
            ["Bind"] = bind,
            ["Role"] = "server",
        });
    }

    /// <summary>A GET for the redirected domain, as the redirect listener hands it on; status, head and body (Latin-1).</summary>
    private static async Task<(int Status, string Head, string Body)> GetAsync(IPAddress address, int port, string path, string extraHeaders = "")
    {
        using var client = new TcpClient();
        await client.ConnectAsync(address, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {Domain}\r\n{extraHeaders}Connection: close\r\n\r\n"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var all = new MemoryStream();
        await stream.CopyToAsync(all, timeout.Token);
        var text = Encoding.Latin1.GetString(all.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = end < 0 ? text : text[..end];
        var status = head.Length > 12 && int.TryParse(head.AsSpan(9, 3), out var s) ? s : 0;
        return (status, head, end < 0 ? string.Empty : text[(end + 4)..]);
    }

    private static async Task<bool> ListeningAsync(IPAddress address, int port)
    {
        try
        {
            using var probe = new TcpClient();
            await probe.ConnectAsync(address, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>As <see cref="GetAsync"/>, but a connection cut mid-body gives what arrived before the cut.</summary>
    private static async Task<(int Status, string Head, string Body)> GetOrCutAsync(IPAddress address, int port, string path)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(address, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {Domain}\r\nConnection: close\r\n\r\n"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var all = new MemoryStream();
        try
        {
            await stream.CopyToAsync(all, timeout.Token);
        }
        catch (IOException)
        {
            // cut: keep what came
        }

        var text = Encoding.Latin1.GetString(all.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = end < 0 ? text : text[..end];
        var status = head.Length > 12 && int.TryParse(head.AsSpan(9, 3), out var s) ? s : 0;
        return (status, head, end < 0 ? string.Empty : text[(end + 4)..]);
    }

    /// <summary>The status, or 0 when the connection was reset or closed without an answer.</summary>
    private static async Task<int> GetOrResetAsync(IPAddress address, int port, string path)
    {
        try
        {
            return (await GetAsync(address, port, path)).Status;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Optimal))
        {
            gz.Write(Encoding.ASCII.GetBytes(text));
        }

        return buffer.ToArray();
    }

    /// <summary>An origin on port 80 of <see cref="Address"/> answering each request head with the raw response <c>answer</c> gives (Latin-1).</summary>
    private sealed class Origin : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private Origin(IPAddress address, Func<string, string> answer)
        {
            Address = address;
            _listener = new TcpListener(address, 80);
            _listener.Start();
            _loop = ServeAsync(answer);
        }

        public IPAddress Address { get; }

        public static Origin Start(IPAddress address, Func<string, string> answer) => new(address, answer);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stop.Dispose();
        }

        private async Task ServeAsync(Func<string, string> answer)
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        var stream = client.GetStream();
                        var buffer = new byte[16 * 1024];
                        var head = new StringBuilder();
                        try
                        {
                            while (true)
                            {
                                head.Clear();
                                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                                {
                                    var n = await stream.ReadAsync(buffer, _stop.Token);
                                    if (n == 0)
                                    {
                                        return;
                                    }

                                    head.Append(Encoding.Latin1.GetString(buffer, 0, n));
                                }

                                await stream.WriteAsync(Encoding.Latin1.GetBytes(answer(head.ToString())), _stop.Token);
                            }
                        }
                        catch (Exception e) when (e is IOException or OperationCanceledException)
                        {
                        }
                    }
                });
            }
        }
    }
}
