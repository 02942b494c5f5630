using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 4, the hosts-file redirect (claim 4): `peerpatch redirect enable` sends an update domain to the node; a
/// request for http://DOMAIN/path then reaches the node (port 80), which answers as a transparent cache, reaching
/// the real origin through DNS (a test DNS server on loopback) rather than the hosts file; it keeps answering when
/// the LAN server is gone; `disable` restores the hosts file byte for byte.
/// </summary>
[Trait("Category", "Network")]
public sealed class RedirectTests(ITestOutputHelper output)
{
    private const string Domain = "deb.peerpatch.test";
    private const string OriginalHosts = "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost\n# the admin's own line, no final newline";

    [RootFact] // the origin and the node's redirect listener need port 80 (on 127.0.0.2 and 127.0.0.1)
    public async Task RedirectRoundTrip_ReachesTheNode_IsCached_SurvivesTheServer_AndDisableRestoresTheHostsFile()
    {
        var origin = IPAddress.Parse("127.0.0.2");
        await using var repo = await DebRepository.CreateAsync([("pp-golf", "1.0", 700_000)], origin, 80);
        using var dns = new TestDnsServer(origin);
        using var dir = new TempDir();
        var hosts = dir.Sub("hosts");
        await File.WriteAllTextAsync(hosts, OriginalHosts);
        var config = JsonSerializer.Serialize(new { HostsFile = hosts, RedirectPort = 80, RedirectDns = dns.EndPoint.ToString() });
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("pc"), config, "--server", server.ServerAddress);

        var enable = await NodeProcess.RunCliAsync("redirect", "enable", "--domain", Domain, "--hosts-file", hosts, "--node", node.Http.ToString());
        Assert.True(enable.ExitCode == 0, enable.Stderr);
        var redirected = await File.ReadAllTextAsync(hosts);
        Assert.StartsWith(OriginalHosts, redirected, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1 {Domain}", redirected, StringComparison.Ordinal);

        // A PC resolving the domain through this hosts file (as the system resolver would) reaches the node on port 80.
        var address = IPAddress.Parse(redirected.Split('\n').Single(l => l.EndsWith(" " + Domain, StringComparison.Ordinal)).Split(' ')[0]);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectCallback = async (ctx, ct) =>
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(address, ctx.DnsEndPoint.Port), ct);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        } }) { Timeout = TimeSpan.FromSeconds(30) };
        var release = new Uri($"http://{Domain}/dists/stable/Release");
        var first = await WaitForRedirectAsync(http, release);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(repo.Root, "dists", "stable", "Release")), await first.Content.ReadAsStringAsync());
        Assert.False(first.Headers.Contains("X-PeerPatch-Cache"));

        // Cached: the second request is revalidated (304 from the origin) and served from the node's copy.
        using var second = await http.GetAsync(release);
        Assert.Equal("hit", second.Headers.GetValues("X-PeerPatch-Cache").Single());
        Assert.Equal(1, repo.Requests("dists/stable/Release"));
        Assert.True(dns.Queries >= 1, "the node did not resolve the origin through DNS");

        // Another spelling of the same URL (bytes escaped, lower- and upper-case hex) is the same entry: a hit.
        var respelled = await RawGetAsync(address, "/dists/%73table/Rel%65%61se");
        Assert.StartsWith("HTTP/1.1 200", respelled, StringComparison.Ordinal);
        Assert.Contains("X-PeerPatch-Cache: hit", respelled, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, repo.Requests("dists/stable/Release"));

        // The index passes through (the node learns the package hashes); then the LAN server goes away and the
        // package still comes, from the origin, verified against the index's hash.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://{Domain}/dists/stable/main/binary-amd64/Packages.gz")).StatusCode);
        await server.KillAsync();
        var deb = repo.Packages[0];
        var bytes = await http.GetByteArrayAsync($"http://{Domain}/{deb.Filename}");
        Assert.Equal(deb.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.Contains("falling back to the internet", node.Output, StringComparison.Ordinal);

        var disable = await NodeProcess.RunCliAsync("redirect", "disable", "--hosts-file", hosts);
        Assert.True(disable.ExitCode == 0, disable.Stderr);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(OriginalHosts), await File.ReadAllBytesAsync(hosts));
        Assert.Equal(1, (await NodeProcess.RunCliAsync("redirect", "status", "--hosts-file", hosts)).ExitCode);
        output.WriteLine($"redirect: {Domain} -> {address}:80 -> node -> origin {origin} found by DNS ({dns.Queries} queries); Release fetched once from the origin, then a cache hit; .deb served with the LAN server gone; hosts file restored byte for byte");
    }

    /// <summary>A GET sent byte for byte as written (no client normalizes its path), with its response head.</summary>
    private static async Task<string> RawGetAsync(IPAddress node, string rawPath)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(node, 80);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {rawPath} HTTP/1.1\r\nHost: {Domain}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var text = await reader.ReadToEndAsync(timeout.Token);
        return text[..Math.Max(0, text.IndexOf("\r\n\r\n", StringComparison.Ordinal))];
    }

    private static async Task<HttpResponseMessage> WaitForRedirectAsync(HttpClient http, Uri url)
    {
        // The node re-reads the hosts file every 2 s and then opens port 80.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                var response = await http.GetAsync(url);
                if (response.StatusCode == HttpStatusCode.OK || DateTime.UtcNow > deadline)
                {
                    return response;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            await Task.Delay(200);
        }
    }
}
