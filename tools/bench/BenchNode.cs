using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PeerPatch.Bench;

/// <summary>A PeerPatch node process (the shipped executable) on loopback, pinned as server, no discovery.</summary>
internal sealed class BenchNode
{
    private BenchNode(Process process, int udp, int http)
    {
        Process = process;
        Udp = udp;
        Http = http;
    }

    public Process Process { get; }

    /// <summary>From the process's start to its first 200 answer to GET /v1/status (polled every 5 ms).</summary>
    public TimeSpan FirstAnswer { get; private set; }

    public int Udp { get; }

    public int Http { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Http}/");

    public static Task<BenchNode> StartAsync(string repo, string dataDir) => StartExecutableAsync(Executable(repo), dataDir);

    /// <summary>Starts <paramref name="executable"/> (the shipped one, or another build of it) as a bench node.</summary>
    public static async Task<BenchNode> StartExecutableAsync(string executable, string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var config = Path.Combine(dataDir, "bench.config.json");
        // UploadSlots 20: the fan-out scenario measures what one node can serve to 20 curls at once, as nginx does; with
        // the default 4 (issue 16) the other 16 would get 503 + Retry-After and, being curls, not move to another source.
        // UploadSlotsPerClient 0: the 20 curls all come from 127.0.0.1, which the default share would hold to 2 slots.
        await File.WriteAllTextAsync(config, """{"Discovery":false,"ClusterKeyFile":"none","RedirectPort":0,"AptProxyAdvert":false,"UploadSlots":20,"UploadSlotsPerClient":0}""");
        var (udp, http) = (FreeUdpPort(), FreeTcpPort());
        var started = Stopwatch.StartNew();
        var process = Proc.Start(executable, "run", "--data", dataDir, "--port", udp.ToString(), "--http-port", http.ToString(), "--bind", "127.0.0.1",
            "--role", "server", "--update-interval", "0", "--os-version", "bench-1-amd64", "--config", config);
        var node = new BenchNode(process, udp, http);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (; started.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(5))
        {
            try
            {
                using var response = await client.GetAsync(new Uri(node.BaseUri, "v1/status"));
                if (response.IsSuccessStatusCode)
                {
                    node.FirstAnswer = started.Elapsed;
                    return node;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
        }

        throw new InvalidOperationException("the node did not start within 30 s");
    }

    /// <summary>
    /// What ships: the Native AOT executable of tools/package/publish.sh linux-x64 (run.sh builds it).
    /// </summary>
    public static string Executable(string repo)
    {
        var path = Path.Combine(repo, "artifacts", "publish", "linux-x64", "peerpatch");
        return File.Exists(path) ? path : throw new FileNotFoundException("publish the node first: tools/package/publish.sh linux-x64", path);
    }

    /// <summary>Pushes a file (streamed) as a patch; returns its SHA-256.</summary>
    public async Task PushAsync(string file, string sha256, string name)
    {
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        await using var stream = File.OpenRead(file);
        using var content = new StreamContent(stream, 256 * 1024);
        content.Headers.ContentLength = stream.Length;
        using var response = await client.PutAsync(new Uri(BaseUri, $"v1/blobs/{sha256}?os=bench-1-amd64&name={Uri.EscapeDataString(name)}"), content);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"push of {name} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>The node's gen0 collections so far, read off its /metrics (prometheus-net's GC counters).</summary>
    public async Task<long> Gen0CollectionsAsync()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var metrics = await client.GetStringAsync(new Uri(BaseUri, "metrics"));
        const string Counter = "dotnet_collection_count_total{generation=\"0\"} ";
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(Counter, StringComparison.Ordinal))
            ?? throw new InvalidOperationException("the node's /metrics has no gen0 collection count");
        return long.Parse(line.AsSpan(Counter.Length), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static int FreeUdpPort()
    {
        using var socket = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.Client.LocalEndPoint!).Port;
    }
}
