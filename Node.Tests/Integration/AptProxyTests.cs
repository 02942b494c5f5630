using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 4, apt proxy mode: three simulated PCs, each with its own apt root and its own node as apt's HTTP proxy,
/// real unmodified apt-get, a real Debian-style repository on loopback as the internet.
/// </summary>
public static class AptProxyTests
{
    /// <summary>
    /// apt asks for indexes by hash (the Release says Acquire-By-Hash): the nodes learn them from the Release that
    /// passed through and share them over the LAN, so the upstream serves each index once per change for all PCs.
    /// </summary>
    private static void AssertEachByHashIndexFetchedOnce(ITestOutputHelper output, DebRepository repo, string when)
    {
        var byHash = repo.RequestCounts.Where(kv => kv.Key.Contains("/by-hash/", StringComparison.Ordinal)).ToList();
        output.WriteLine($"{when}: {byHash.Count} by-hash indexes fetched from the upstream, {byHash.Sum(kv => kv.Value)} requests; InRelease requests: {repo.RequestCounts.Where(kv => kv.Key.EndsWith("InRelease", StringComparison.Ordinal)).Sum(kv => kv.Value)}");
        Assert.NotEmpty(byHash);
        Assert.All(byHash, kv => Assert.True(kv.Value == 1, $"{kv.Key} fetched {kv.Value} times from the upstream ({when})"));
    }

    private static readonly string RepoRoot =
        typeof(AptProxyTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    /// <summary>Sends one request line (GET URL, CONNECT HOST:PORT...) to the node and returns the status line it answers.</summary>
    private static async Task<string> RawRequestAsync(NodeProcess node, string requestLine)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(node.Host, node.HttpPort);
        var stream = client.GetStream();
        var body = requestLine.StartsWith("POST", StringComparison.Ordinal) ? "Content-Length: 0\r\n" : string.Empty;
        // The Host header names the target's authority, as a client's must (Kestrel answers 400 otherwise).
        var target = requestLine.Split(' ')[1];
        var host = target.Contains("://", StringComparison.Ordinal) ? target.Split("://")[1].Split('/')[0] : target;
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"{requestLine} HTTP/1.1\r\nHost: {host}\r\n{body}Connection: close\r\n\r\n"));
        using var reader = new StreamReader(stream);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        return await reader.ReadLineAsync(timeout.Token) ?? string.Empty;
    }

    /// <summary>
    /// The node's configuration for a test origin on loopback: listed by the admin (the only way the proxy relays to
    /// this machine), HTTP and CONNECT on its port.
    /// </summary>
    private static string Upstream(DebRepository repo) =>
        System.Text.Json.JsonSerializer.Serialize(new { AptUpstreams = new[] { $"127.0.0.1:{repo.BaseUri.Port}" } });

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

    [Trait("Category", "Network")]
    public sealed class RealArchives(ITestOutputHelper output)
    {
        /// <summary>
        /// Issue 18: REAL Debian packages (versions with +debNuM, +bN, ~, an epoch) in a signed two-archive origin (main and
        /// security, same names in other versions; InRelease, by-hash, Packages.xz), three PCs with unmodified apt-get
        /// through three different nodes' proxies one after another: every .deb crosses the internet once (<= 1.01 of the
        /// unique bytes), apt verifies every file, and an index changed upstream reaches every PC on its next update.
        /// </summary>
        [Fact]
        public async Task RealDebianArchives_ThreePcsThroughThreeNodes_EveryPackageCrossesTheInternetOnce()
        {
            var debDir = (await ExternalCommand.RunAsync("/", "bash", Path.Combine(RepoRoot, "tools", "test-lan", "fetch-real-debs.sh"))).Stdout.Trim();
            await using var repo = await DebRepository.CreateRealAsync(debDir);
            Assert.Contains(repo.Packages, p => p.Filename.Contains(':', StringComparison.Ordinal));
            Assert.Contains(repo.Packages, p => p.Filename.Contains('+', StringComparison.Ordinal));
            Assert.Contains(repo.Packages, p => p.Filename.Contains('~', StringComparison.Ordinal));
            using var dir = new TempDir();
            var config = Upstream(repo);
            await using var server = await NodeProcess.StartWithConfigAsync("pc1", dir.Sub("node1"), config, "--role", "server");
            await using var node2 = await NodeProcess.StartWithConfigAsync("pc2", dir.Sub("node2"), config, "--server", server.ServerAddress);
            await using var node3 = await NodeProcess.StartWithConfigAsync("pc3", dir.Sub("node3"), config, "--server", server.ServerAddress);
            string[] every = [.. repo.Packages.Select(p => $"{p.Package}={p.Version}")];

            var pcs = new List<AptRoot>();
            foreach (var (node, i) in new[] { server, node2, node3 }.Select((n, i) => (n, i + 1)))
            {
                var pc = new AptRoot(dir.Sub($"apt{i}"), repo.SignedSourcesLines, node.Http);
                pcs.Add(pc);
                var update = await pc.AptGetAsync("update");
                Assert.DoesNotContain("not signed", update.Stdout + update.Stderr, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("NO_PUBKEY", update.Stdout + update.Stderr, StringComparison.Ordinal);
                await ExternalCommand.RunAsync(pc.Archives, "apt-get", ["download", .. every], allowFailure: false, pc.Environment);
                foreach (var p in repo.Packages)
                {
                    // apt-get download names a file NAME_VERSION_ARCH.deb with the epoch's colon as %3a; apt checked its hash.
                    var file = Directory.GetFiles(pc.Archives, $"{p.Package}_*.deb").SingleOrDefault(f => Uri.UnescapeDataString(Path.GetFileName(f)).StartsWith($"{p.Package}_{p.Version}_", StringComparison.Ordinal));
                    Assert.True(file is not null, $"{p.Package} {p.Version} missing on PC {i}");
                    Assert.Equal(p.Sha256, await HashFileAsync(file));
                }
            }

            var ratio = repo.DebBytesServed / (double)repo.UniqueDebBytes;
            var repeated = repo.RequestCounts.Where(kv => kv.Key.EndsWith(".deb", StringComparison.Ordinal) && kv.Value > 1).Select(kv => $"{kv.Key} x{kv.Value}").ToList();
            output.WriteLine($"3 PCs, {repo.Packages.Count} real packages, {repo.UniqueDebBytes} unique .deb bytes: upstream served {repo.DebBytesServed} .deb bytes, ratio {ratio:0.000}; served more than once: {repeated.Count}");
            foreach (var r in repeated)
            {
                output.WriteLine("  " + r);
            }

            foreach (var line in ratio <= 1.01 ? [] : server.Output.Split('\n').Where(l => l.Contains("apt", StringComparison.Ordinal)).Take(60))
            {
                output.WriteLine("node1: " + line); // why the LAN was missed
            }

            Assert.True(ratio <= 1.01, $"upstream .deb bytes / unique = {ratio:0.000}: {string.Join(", ", repeated)}");
            AssertEachByHashIndexFetchedOnce(output, repo, "3 PCs' first update");

            // The upstream changes an index: every PC sees the new package on its next update (never a stale index).
            var (name, version) = await repo.AddRepackedAsync(DebRepository.MainArchive, repo.Packages[0].Package, "+new1");
            foreach (var pc in pcs)
            {
                await pc.AptGetAsync("update");
                var policy = await ExternalCommand.RunAsync(pc.Root, "apt-cache", ["policy", name], allowFailure: false, pc.Environment);
                Assert.Contains(version, policy.Stdout, StringComparison.Ordinal);
                await ExternalCommand.RunAsync(pc.Archives, "apt-get", ["download", $"{name}={version}"], allowFailure: false, pc.Environment);
            }

            Assert.Equal(1, repo.Requests(repo.Packages[^1].Filename));
            AssertEachByHashIndexFetchedOnce(output, repo, "after the index changed");
        }
    }

    [Trait("Category", "Network")]
    public sealed class Proxy(ITestOutputHelper output)
    {
        [Fact]
        public async Task ThreePcsDownloadingEveryPackage_TheUpstreamServesEachDebOnce_AndTheOthersGetThemFromTheLan()
        {
            await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 300_000), ("pp-bravo", "2.1", 1_500_000), ("pp-charlie", "0.9", 4_000_000), ("pp-delta", "3.0", 20_000)]);
            repo.PoolRateLimit = 4_000_000; // the internet link: 4 MB/s per connection
            using var dir = new TempDir();
            var dpkgStatus = await HashFileAsync("/var/lib/dpkg/status");
            var config = Upstream(repo);
            await using var server = await NodeProcess.StartWithConfigAsync("pc1", dir.Sub("node1"), config, "--role", "server");
            await using var node2 = await NodeProcess.StartWithConfigAsync("pc2", dir.Sub("node2"), config, "--server", server.ServerAddress);
            await using var node3 = await NodeProcess.StartWithConfigAsync("pc3", dir.Sub("node3"), config, "--server", server.ServerAddress);
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
            var config = Upstream(repo);
            await using var server = await NodeProcess.StartWithConfigAsync("pc1", dir.Sub("node1"), config, "--role", "server");
            await using var node2 = await NodeProcess.StartWithConfigAsync("pc2", dir.Sub("node2"), config, "--server", server.ServerAddress);
            await using var node3 = await NodeProcess.StartWithConfigAsync("pc3", dir.Sub("node3"), config, "--server", server.ServerAddress);
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
            await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), Upstream(repo), "--role", "server");
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
            await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), Upstream(repo), "--role", "server");

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

        /// <summary>
        /// Issue 19 part 6: the apt proxy is not an open relay. From the test (a client like any other: the policy does
        /// not depend on who asks), non-apt paths, unlisted ports and hosts, this machine's own LAN address and loopback
        /// (even when apt's sources name them), traversal spellings, other methods and CONNECTs are all answered 403,
        /// counted in the status and the metric, and never reach the "secret" service; an apt path on the listed origin
        /// still works.
        /// </summary>
        [Fact]
        public async Task OpenRelay_EveryNonAptTarget_IsRefusedWith403AndCounted_AndAptStillWorks()
        {
            await using var repo = await DebRepository.CreateAsync([("pp-golf", "1.0", 1_000)]);
            await File.WriteAllTextAsync(Path.Combine(repo.Root, "secret.txt"), "secret");
            using var secret = new SecretService(System.Net.IPAddress.Any); // a service a firewall hides from the LAN
            var secretPort = secret.Port;
            var lan = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up && n.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a));
            output.WriteLine($"this machine's LAN address: {lan?.ToString() ?? "none (that case is skipped)"}");

            // apt's sources on this node name this machine's LAN address and loopback: still never relayed to.
            using var dir = new TempDir();
            var etc = dir.Sub("etc-apt");
            Directory.CreateDirectory(Path.Combine(etc, "sources.list.d"));
            await File.WriteAllTextAsync(Path.Combine(etc, "sources.list"), $"deb http://127.0.0.1:{secretPort}/debian bookworm main\ndeb http://localhost:{secretPort}/debian bookworm main\n" + (lan is null ? "" : $"deb http://{lan}:{secretPort}/debian bookworm main\n"));
            await File.WriteAllTextAsync(Path.Combine(etc, "sources.list.d", "lan.sources"), lan is null ? "" : $"Types: deb\nURIs: https://{lan}:{secretPort}/x\nSuites: s\n");
            var config = System.Text.Json.JsonSerializer.Serialize(new { AptUpstreams = new[] { $"http://127.0.0.1:{repo.BaseUri.Port}/" }, AptSourcesDir = etc });
            await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), config, "--role", "server");
            var origin = $"http://127.0.0.1:{repo.BaseUri.Port}";

            var refused = new List<string>
            {
                $"GET {origin}/secret.txt",                                   // a non-apt path on the listed origin
                $"GET {origin}/dists/%2e%2e/secret.txt",                      // traversal, escaped
                $"GET {origin}/dists/stable/../../secret.txt",                // traversal, plain
                $"GET {origin}/pool/x.deb?x=1",                               // a query
                $"POST {origin}/dists/stable/Release",                        // another method
                $"GET http://127.0.0.1:{secretPort}/debian/dists/bookworm/InRelease", // loopback, though apt's sources name it
                $"GET http://localhost:{secretPort}/debian/dists/bookworm/InRelease",
                $"GET http://127.0.0.1:{secretPort}/secret.txt",              // another port of the listed host
                $"GET http://127.0.0.1:{node.HttpPort}/v1/status",            // the node itself
                $"GET http://127.0.0.1:{node.HttpPort}/dists/stable/Release",
                $"GET http://[::1]:{repo.BaseUri.Port}/dists/stable/Release", // the same origin by another loopback name
                $"GET http://fileserver.invalid/debian/dists/bookworm/InRelease", // another host, not listed
                $"CONNECT 127.0.0.1:{secretPort}",                            // a tunnel to loopback
                "CONNECT 127.0.0.1:22",
                "CONNECT fileserver.invalid:443",                            // a tunnel to an unlisted host
            };
            if (lan is not null)
            {
                refused.Add($"GET http://{lan}:{secretPort}/debian/dists/bookworm/InRelease"); // this machine's LAN address, named by a source
                refused.Add($"GET http://{lan}:{repo.BaseUri.Port}/dists/stable/Release");     // the listed origin, by this machine's LAN address
                refused.Add($"CONNECT {lan}:{secretPort}");
            }

            foreach (var request in refused)
            {
                var status = await RawRequestAsync(node, request);
                Assert.True(status.StartsWith("HTTP/1.1 403", StringComparison.Ordinal), $"{request}: {status}");
            }

            Assert.Equal(0, secret.Reached);
            Assert.Equal(0, repo.Requests("secret.txt"));
            var stats = (await node.StatusAsync()).GetProperty("stats");
            Assert.Equal(refused.Count, stats.GetProperty("proxyRefused").GetInt64());
            using var http = new HttpClient();
            var metrics = await http.GetStringAsync(new Uri(node.Http, "metrics"));
            Assert.Contains("peerpatch_apt_proxy_refused_total{reason=\"not_apt_path\"}", metrics, StringComparison.Ordinal);
            Assert.Contains("peerpatch_apt_proxy_refused_total{reason=\"this_machine\"}", metrics, StringComparison.Ordinal);

            // apt's own requests to the listed origin still go through.
            var ok = await RawRequestAsync(node, $"GET {origin}/dists/stable/Release");
            Assert.StartsWith("HTTP/1.1 200", ok, StringComparison.Ordinal);
            Assert.Equal(1, repo.Requests("dists/stable/Release"));
            output.WriteLine($"{refused.Count} relay attempts refused with 403 and counted; the secret service was reached {secret.Reached} times");
        }

        /// <summary>
        /// A listed origin (here a local mirror, which the admin may let the proxy reach on this machine) that answers a
        /// redirect to another port cannot bounce the relay there: the 3xx goes back to apt, which would ask the proxy
        /// again, where the policy refuses the new target. Before, the relay followed it and returned the hidden service.
        /// </summary>
        [Fact]
        public async Task ARedirectFromAListedOrigin_GoesBackToTheClient_AndIsNotFollowedByTheRelay()
        {
            using var secret = new SecretService(System.Net.IPAddress.Loopback);
            using var origin = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            origin.Start();
            var secretPort = secret.Port;
            var originPort = ((System.Net.IPEndPoint)origin.LocalEndpoint).Port;
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            _ = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var c = await origin.AcceptTcpClientAsync(stop.Token);
                    var buffer = new byte[4096];
                    _ = await c.GetStream().ReadAsync(buffer, stop.Token);
                    await c.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes(
                        $"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{secretPort}/secret.txt\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), stop.Token);
                }
            });
            using var dir = new TempDir();
            var config = System.Text.Json.JsonSerializer.Serialize(new { AptUpstreams = new[] { $"http://127.0.0.1:{originPort}/" }, AptSourcesDir = dir.Sub("no-apt") });
            await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), config, "--role", "server");

            var status = await RawRequestAsync(node, $"GET http://127.0.0.1:{originPort}/debian/dists/bookworm/InRelease");

            Assert.StartsWith("HTTP/1.1 302", status, StringComparison.Ordinal);
            Assert.Equal(0, secret.Reached);
            Assert.StartsWith("HTTP/1.1 403", await RawRequestAsync(node, $"GET http://127.0.0.1:{secretPort}/secret.txt"), StringComparison.Ordinal);
            Assert.Equal(0, secret.Reached);
            await stop.CancelAsync();
        }
    }
}
