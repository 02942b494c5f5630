using System.Diagnostics;
using System.Security.Cryptography;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 4, apt proxy mode: three simulated PCs, each with its own apt root and its own node as apt's HTTP proxy,
/// real unmodified apt-get, a real Debian-style repository on loopback as the internet.
/// </summary>
[Collection(RealProcesses.Name)]
[Trait("Category", "Network")]
public sealed class AptProxyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ThreePcsDownloadingEveryPackage_TheUpstreamServesEachDebOnce_AndTheOthersGetThemFromTheLan()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 300_000), ("pp-bravo", "2.1", 1_500_000), ("pp-charlie", "0.9", 4_000_000), ("pp-delta", "3.0", 20_000)]);
        repo.PoolRateLimit = 4_000_000; // the internet link: 4 MB/s per connection
        using var dir = new TempDir();
        var dpkgStatus = await HashFileAsync("/var/lib/dpkg/status");
        await using var server = await NodeProcess.StartAsync("pc1", dir.Sub("node1"), "--role", "server");
        await using var node2 = await NodeProcess.StartAsync("pc2", dir.Sub("node2"), "--server", server.ServerAddress);
        await using var node3 = await NodeProcess.StartAsync("pc3", dir.Sub("node3"), "--server", server.ServerAddress);
        var names = repo.Packages.Select(p => p.Package).ToArray();

        var times = new List<TimeSpan>();
        var pcs = new List<AptRoot>();
        foreach (var (node, i) in new[] { server, node2, node3 }.Select((n, i) => (n, i + 1)))
        {
            var pc = new AptRoot(dir.Sub($"apt{i}"), repo.SourcesLine, node.Http);
            pcs.Add(pc);
            await pc.AptGetAsync("update");
            var watch = Stopwatch.StartNew();
            await pc.AptGetAsync(["install", "-y", "--download-only", .. names]);
            times.Add(watch.Elapsed);

            // apt's own hash checks passed (exit 0); every .deb is in this PC's archive cache with the repository's hash.
            foreach (var p in repo.Packages)
            {
                var file = Path.Combine(pc.Archives, Path.GetFileName(p.Filename));
                Assert.True(File.Exists(file), $"{file} missing on PC {i}");
                Assert.Equal(p.Sha256, await HashFileAsync(file));
            }
        }

        // The upstream served each .deb exactly once: PC 1's node downloaded it, the other PCs got it over the LAN.
        foreach (var p in repo.Packages)
        {
            Assert.Equal(1, repo.Requests(p.Filename));
            Assert.Equal(p.Size, repo.BytesServed(p.Filename));
        }

        var upstreamDebBytes = repo.Packages.Sum(p => repo.BytesServed(p.Filename));
        foreach (var client in new[] { node2, node3 })
        {
            var stats = (await client.StatusAsync()).GetProperty("stats");
            Assert.Equal(repo.UniqueDebBytes, stats.GetProperty("lanBytesFetched").GetInt64());
        }

        Assert.Equal(4, (await server.PatchesAsync()).GetArrayLength());
        Assert.Equal(dpkgStatus, await HashFileAsync("/var/lib/dpkg/status"));
        output.WriteLine($"3 PCs, {repo.Packages.Count} packages, {repo.UniqueDebBytes} unique .deb bytes: upstream served {upstreamDebBytes} .deb bytes (ratio {upstreamDebBytes / (double)repo.UniqueDebBytes:0.000}); " +
            $"download-only times: PC1 {times[0].TotalMilliseconds:0} ms (internet), PC2 {times[1].TotalMilliseconds:0} ms, PC3 {times[2].TotalMilliseconds:0} ms (LAN); " +
            $"index bytes through the proxies: {repo.BytesServed("dists/stable/main/binary-amd64/Packages.gz") + repo.BytesServed("dists/stable/main/binary-amd64/Packages")}");
    }

    [Fact]
    public async Task ThreePcsDownloadingAtTheSameMoment_StillCauseOneUpstreamDownloadPerDeb()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-hotel", "1.0", 2_000_000), ("pp-india", "1.0", 700_000)]);
        repo.PoolRateLimit = 2_000_000; // slow enough that the three requests overlap
        using var dir = new TempDir();
        await using var server = await NodeProcess.StartAsync("pc1", dir.Sub("node1"), "--role", "server");
        await using var node2 = await NodeProcess.StartAsync("pc2", dir.Sub("node2"), "--server", server.ServerAddress);
        await using var node3 = await NodeProcess.StartAsync("pc3", dir.Sub("node3"), "--server", server.ServerAddress);
        var pcs = new[] { server, node2, node3 }.Select((n, i) => new AptRoot(dir.Sub($"apt{i + 1}"), repo.SourcesLine, n.Http)).ToList();
        foreach (var pc in pcs)
        {
            await pc.AptGetAsync("update"); // each node learns the hashes from the index it passes
        }

        string[] install = ["install", "-y", "--download-only", .. repo.Packages.Select(p => p.Package)];
        await Task.WhenAll(pcs.Select(pc => pc.AptGetAsync(install)));

        foreach (var p in repo.Packages)
        {
            Assert.Equal(1, repo.Requests(p.Filename));
            foreach (var pc in pcs)
            {
                Assert.Equal(p.Sha256, await HashFileAsync(Path.Combine(pc.Archives, Path.GetFileName(p.Filename))));
            }
        }

        var lan = 0L;
        foreach (var node in new[] { node2, node3 })
        {
            lan += (await node.StatusAsync()).GetProperty("stats").GetProperty("lanBytesFetched").GetInt64();
        }

        output.WriteLine($"3 PCs at once, {repo.Packages.Count} packages ({repo.UniqueDebBytes} bytes): one upstream request per .deb, {lan} bytes over the LAN to PCs 2 and 3");
    }

    [Fact]
    public async Task AptEnable_RoutesAptThroughTheNode_AptStillWorksWhenTheNodeIsDown_AndDisableRemovesEverything()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-echo", "1.0", 200_000)]);
        using var dir = new TempDir();
        await using var node = await NodeProcess.StartAsync("pc", dir.Sub("node"), "--role", "server");
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null); // no proxy of its own: only the drop-in
        var confDir = Path.Combine(pc.Root, "etc", "apt.conf.d");
        var helperDir = dir.Sub("helper");

        var enable = await NodeProcess.RunCliAsync("apt", "enable", "--conf-dir", confDir, "--helper-dir", helperDir, "--node", node.Http.ToString());
        Assert.True(enable.ExitCode == 0, enable.Stderr);
        Assert.Contains("Acquire::http::Proxy-Auto-Detect", await File.ReadAllTextAsync(Path.Combine(confDir, "30peerpatch")), StringComparison.Ordinal);
        Assert.Equal(0, (await NodeProcess.RunCliAsync("apt", "status", "--conf-dir", confDir)).ExitCode);

        await pc.AptGetAsync("update");
        await pc.AptGetAsync("install", "-y", "--download-only", "pp-echo");
        var stats = (await node.StatusAsync()).GetProperty("stats");
        Assert.True(stats.GetProperty("internetBytes").GetInt64() >= repo.UniqueDebBytes, stats.ToString()); // it went through the node
        Assert.Single((await node.PatchesAsync()).EnumerateArray()); // and the .deb went into the node's database

        // The node stops: apt goes direct (the helper says DIRECT) instead of failing.
        await node.StopAsync();
        File.Delete(Path.Combine(pc.Archives, Path.GetFileName(repo.Packages[0].Filename)));
        await pc.AptGetAsync("update");
        await pc.AptGetAsync("install", "-y", "--download-only", "pp-echo");
        Assert.Equal(2, repo.Requests(repo.Packages[0].Filename));

        var disable = await NodeProcess.RunCliAsync("apt", "disable", "--conf-dir", confDir, "--helper-dir", helperDir);
        Assert.True(disable.ExitCode == 0, disable.Stderr);
        Assert.Empty(Directory.GetFiles(confDir));
        Assert.Empty(Directory.GetFiles(helperDir));
        Assert.Equal(1, (await NodeProcess.RunCliAsync("apt", "status", "--conf-dir", confDir)).ExitCode);
    }

    [Fact]
    public async Task Connect_TunnelsToAnAllowedPortUntouched_AndRefusesOthers()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-foxtrot", "1.0", 1_000)]);
        using var dir = new TempDir();
        var config = System.Text.Json.JsonSerializer.Serialize(new { ConnectPorts = new[] { repo.BaseUri.Port } });
        await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), config, "--role", "server");

        // Through the tunnel the client speaks to the origin directly (here plain HTTP, as TLS bytes would be).
        var reply = await TunnelAsync(node, $"127.0.0.1:{repo.BaseUri.Port}", "GET /dists/stable/Release HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200 OK", reply, StringComparison.Ordinal);
        Assert.Contains("Suite: stable", reply, StringComparison.Ordinal);
        Assert.Equal(1, repo.Requests("dists/stable/Release"));

        var refused = await TunnelAsync(node, "127.0.0.1:22", "");
        Assert.StartsWith("HTTP/1.1 403 Forbidden", refused, StringComparison.Ordinal);

        // The same port still serves ordinary requests.
        Assert.Equal("server", (await node.StatusAsync()).GetProperty("role").GetString());
    }

    private static async Task<string> TunnelAsync(NodeProcess node, string target, string payload)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(node.Host, node.HttpPort);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n{payload}"));
        using var reader = new StreamReader(stream);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        return await reader.ReadToEndAsync(timeout.Token);
    }

    private static async Task<string> HashFileAsync(string path)
    {
        await using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(f));
    }
}
