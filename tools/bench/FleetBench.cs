using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PeerPatch.Bench;

/// <summary>
/// The fleet: PCs in network namespaces on one bridge, an "internet" namespace whose nginx serves a feed of patches
/// through a shaped link (tc tbf on its egress: every PC shares that uplink), and one run of each contender from a
/// cold start, all PCs starting at once:
/// PeerPatch (a zero-config node per PC, one dry-run pass each: obtained and verified, nothing installed);
/// direct (each PC curls every patch from the upstream and checks its SHA-256);
/// apt-cacher-ng (Debian's package, on its own namespace, as the PCs' HTTP proxy; same curl and check).
/// Internet bytes are the upstream's logged body bytes of patch files; time runs from the start to the last PC done.
/// Shaped (the p2p-fleet scenario): every PC's link, and the cache's, is a tbf of 100 Mbit/s each way; PeerPatch runs
/// with peer serving on (the default) and off (PEERPATCH_PeerServing=false, server-only); the bridge's byte counters
/// per veth give the internet link's bytes and each PC's upload; each node's CPU is read from /proc/PID/stat.
/// </summary>
internal sealed partial class FleetBench : IAsyncDisposable
{
    private const int Patches = 25;
    private const int UpstreamPort = 8080;
    private const int IdealPort = 8082; // the ideal schedule's nginx on each PC (8081: the shape check's)
    private readonly NetnsLan _lan;
    private readonly string _repo;
    private readonly string _work;
    private readonly int _pcs;
    private readonly Nginx _upstream;
    private readonly List<(string Name, string Sha, long Size)> _feed;

    private FleetBench(NetnsLan lan, string repo, string work, int pcs, Nginx upstream, List<(string, string, long)> feed)
    {
        (_lan, _repo, _work, _pcs, _upstream, _feed) = (lan, repo, work, pcs, upstream, feed);
    }

    public long UniqueBytes => _feed.Sum(p => p.Size);

    /// <summary>The feed's first patch (the one every PC asks for first).</summary>
    public long FirstPatchBytes => _feed[0].Size;

    /// <summary>The most PCs a run may use (the LAN's size).</summary>
    public int Pcs => _pcs;

    private int Internet => _pcs + 1;

    private int Cache => _pcs + 2;

    /// <summary>Builds the LAN (PCs 1..N, the internet, the cache), the feed, and the shaped upstream.</summary>
    /// <param name="pcLinkMegabits">When set, every PC's link and the cache's are shaped to this rate in both directions.</param>
    /// <param name="pcQueueMilliseconds">The queue of each shaped PC link, in time at its rate.</param>
    /// <param name="prefix">The network namespaces' prefix (NetnsLan).</param>
    public static async Task<FleetBench> CreateAsync(string repo, string work, int pcs, double upstreamMegabytesPerSecond, double? pcLinkMegabits = null, int pcQueueMilliseconds = 50, string prefix = "ppb")
    {
        var lan = await NetnsLan.CreateAsync(pcs + 2, prefix);
        try
        {
            return await CreateOnAsync(lan, repo, work, pcs, upstreamMegabytesPerSecond, pcLinkMegabits, pcQueueMilliseconds);
        }
        catch
        {
            await lan.DisposeAsync();
            throw;
        }
    }

    private static async Task<FleetBench> CreateOnAsync(NetnsLan lan, string repo, string work, int pcs, double upstreamMegabytesPerSecond, double? pcLinkMegabits, int pcQueueMilliseconds)
    {
        var www = Path.Combine(work, "upstream-www");
        Directory.CreateDirectory(www);
        var inet = lan.Address(pcs + 1);
        var feed = new List<(string, string, long)>();
        var entries = new List<object>();
        for (var i = 0; i < Patches; i++)
        {
            var name = $"kb-fleet-{i:00}_1.0_all.deb"; // a .deb name, so apt-cacher-ng caches it
            var size = 1_500_000L + (i * 200_000L); // 1.5 MB .. 6.3 MB, 97.5 MB in all
            var bytes = new byte[size];
            new Random(1000 + i).NextBytes(bytes);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            await File.WriteAllBytesAsync(Path.Combine(www, name), bytes);
            feed.Add((name, sha, size));
            entries.Add(new { name, url = $"http://{inet}:{UpstreamPort}/{name}", sha256 = sha, size, apply = new { command = "/bin/true", args = Array.Empty<string>() } });
        }

        await File.WriteAllTextAsync(Path.Combine(www, "feed.json"), JsonSerializer.Serialize(new { os = "bench-1-amd64", patches = entries }));
        var rate = ((long)(upstreamMegabytesPerSecond * 8_000_000)).ToString(CultureInfo.InvariantCulture) + "bit";
        var (code, _, error) = await lan.ExecAsync(pcs + 1, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", rate, "burst", "64kb", "latency", "200ms");
        if (code != 0)
        {
            throw new InvalidOperationException("tc: " + error);
        }

        if (pcLinkMegabits is { } mbit)
        {
            for (var k = 1; k <= pcs + 2; k++)
            {
                if (k != pcs + 1)
                {
                    await lan.ShapeAsync(k, mbit, pcQueueMilliseconds); // PCs and the cache; the internet keeps its uplink's shape
                }
            }

            var check = new byte[ShapeCheckBytes];
            new Random(7).NextBytes(check);
            await File.WriteAllBytesAsync(Path.Combine(www, ShapeCheckFile), check);
        }

        var upstream = await Nginx.StartAsync(Path.Combine(work, "upstream-nginx"), www, inet, UpstreamPort, lan.Namespace(pcs + 1), log: true);
        return new FleetBench(lan, repo, work, pcs, upstream, feed);
    }

    /// <summary>
    /// PCs 1..<paramref name="pcs"/> each run one PeerPatch pass at once (zero-config nodes of
    /// <paramref name="executable"/>, cold stores). <paramref name="peerServing"/> sets PEERPATCH_PeerServing
    /// (null: the node's default).
    /// </summary>
    public async Task<Result> PeerPatchAsync(int run, int pcs, string executable, bool? peerServing)
    {
        var work = Path.Combine(_work, $"peerpatch-{run}");
        var nodes = new List<Process>();
        string[] environment = peerServing is { } on ? [$"PEERPATCH_PeerServing={(on ? "true" : "false")}"] : [];
        try
        {
            for (var k = 1; k <= pcs; k++)
            {
                nodes.Add(await _lan.StartNodeAsync(executable, environment, k, work, "--source", $"manifest:{_upstream.BaseUri}feed.json"));
            }

            var (serverId, ids) = await _lan.AgreedServerAsync(pcs, TimeSpan.FromSeconds(120));
            await Task.Delay(TimeSpan.FromSeconds(3)); // steady state: every node follows and has greeted the server
            var cpuBefore = nodes.Select(n => Proc.CpuSeconds(n.Id)).ToArray();
            var result = await MeasureAsync(pcs, k => ["curl", "-sS", "-N", "-X", "POST", "http://127.0.0.1:47471/v1/update?dryRun=true"], PassSucceeded);
            var cpu = nodes.Select((n, i) => Proc.CpuSeconds(n.Id) - cpuBefore[i]).ToArray();
            var rss = nodes.Select(n => Proc.Rss(n.Id)).ToArray(); // after the pass, the nodes still up
            var server = ids[serverId];
            var served = new long?[pcs]; // eight nodes at a time: no scrape competes with 49 others, and 50 that fail take minutes, not an hour
            var pushed = new long?[pcs];
            await Parallel.ForEachAsync(Enumerable.Range(1, pcs), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (k, _) =>
            {
                served[k - 1] = await LanBytesOutAsync(k, "serve");
                pushed[k - 1] = await LanBytesOutAsync(k, "push");
            });

            return result with
            {
                Server = server,
                ServerShare = result.PcSent is { } sent && sent.Sum() > 0 ? (double)sent[server - 1] / sent.Sum() : double.NaN,
                MetricsServerShare = served.All(b => b is not null) && served.Sum() > 0 ? (double)served[server - 1]!.Value / served.Sum()!.Value : double.NaN, // a failed scrape: no figure
                // Every PC needs every unique byte, and the internet brought InternetBytes of them: the rest came over
                // the LAN, served by a peer or the server, or pushed to the server by a claim holder. Above 1, upload
                // work was wasted (duplicate endgame copies, pieces cut off, pushes of copies the server had).
                LanSentPerNeeded = served.Concat(pushed).All(b => b is not null)
                    ? (double)(served.Sum()!.Value + pushed.Sum()!.Value) / ((pcs * UniqueBytes) - result.InternetBytes)
                    : double.NaN,
                CpuPerNode = cpu.Average(),
                ServerCpu = cpu[server - 1],
                RssAfterMean = rss.Average(),
                RssAfterMax = rss.Max(),
            };
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Kill(entireProcessTree: true);
                await node.WaitForExitAsync();
            }

            if (Environment.GetEnvironmentVariable("PEERPATCH_BENCH_KEEP") is not { Length: > 0 } keep)
            {
                Directory.Delete(work, recursive: true);
            }
            else
            {
                CopyLogs(work, Path.Combine(keep, $"peerpatch-{run}"));
            }
        }
    }

    /// <summary>Every PC curls every patch from the upstream itself.</summary>
    public Task<Result> DirectAsync(int run, int? pcs = null) => CurlFleetAsync(run, pcs ?? _pcs, proxy: null);

    /// <summary>Every PC curls every patch through apt-cacher-ng (cold cache) on its own namespace.</summary>
    public async Task<Result> AptCacherNgAsync(int run, int? pcs = null)
    {
        await using var acng = await AptCacherNg.StartAsync(_lan.Namespace(Cache), _lan.Address(Cache), Path.Combine(_work, $"acng-{run}"), UpstreamPort);
        return await CurlFleetAsync(run, pcs ?? _pcs, proxy: acng.Proxy.TrimEnd('/'));
    }

    /// <summary>
    /// The reference for what this machine's emulated LAN can do with the same bytes: every patch already on every PC
    /// (an nginx on each PC serves the upstream's files), and each PC curls all of them from the others by the ideal
    /// schedule, patch j of PC k from PC k + 1 + (j mod (N - 1)), so at every step each PC's upload serves exactly one
    /// download (a permutation), each file checked with sha256sum. No discovery, no internet, no hashing of pieces:
    /// the time the kernel and the shaped links need to move the bytes, on the same 2 cores the nodes share.
    /// </summary>
    public async Task<Result> IdealAsync(int run, int? pcs = null)
    {
        var n = pcs ?? _pcs;
        if (n < 2)
        {
            throw new ArgumentException("the ideal schedule needs 2 PCs or more", nameof(pcs));
        }

        var servers = new List<Nginx>();
        try
        {
            for (var k = 1; k <= n; k++)
            {
                servers.Add(await Nginx.StartAsync(Path.Combine(_work, $"ideal-nginx-{k}"), Path.Combine(_work, "upstream-www"), _lan.Address(k), IdealPort, _lan.Namespace(k)));
            }

            return await CurlPatchesAsync(run, n, "ideal", feed: false, (k, j) => $"http://{_lan.Address(((k + (j % (n - 1))) % n) + 1)}:{IdealPort}/{_feed[j].Name}");
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.StopAsync();
            }
        }
    }

    public async ValueTask DisposeAsync() => await _lan.DisposeAsync();

    private Task<Result> CurlFleetAsync(int run, int pcs, string? proxy) =>
        CurlPatchesAsync(run, pcs, proxy is null ? "direct" : "acng", feed: true, (_, j) => $"{(proxy is null ? "" : $"-x {proxy} ")}{_upstream.BaseUri}{_feed[j].Name}");

    /// <summary>
    /// PCs 1..<paramref name="pcs"/> each curl every patch, one after another, patch j of PC k from the curl arguments
    /// <paramref name="from"/>(k, j) gives, and check each with sha256sum; first the feed from the upstream when
    /// <paramref name="feed"/> (as a node's pass fetches it).
    /// </summary>
    private async Task<Result> CurlPatchesAsync(int run, int pcs, string label, bool feed, Func<int, int, string> from)
    {
        var dir = Path.Combine(_work, $"curl-{label}-{run}");
        var scripts = new List<string>();
        for (var k = 1; k <= pcs; k++)
        {
            var script = new StringBuilder("set -e\n");
            if (feed)
            {
                script.AppendLine(CultureInfo.InvariantCulture, $"curl -sSf -o \"$1/feed.json\" {_upstream.BaseUri}feed.json"); // apt-cacher-ng refuses .json: from the upstream
            }

            for (var j = 0; j < _feed.Count; j++)
            {
                var (name, sha, _) = _feed[j];
                script.AppendLine(CultureInfo.InvariantCulture, $"curl -sSf -o \"$1/{name}\" {from(k, j)}");
                script.AppendLine(CultureInfo.InvariantCulture, $"echo '{sha}  '\"$1/{name}\" | sha256sum -c --quiet");
            }

            var path = Path.Combine(_work, $"fleet-{label}-{k}.sh");
            await File.WriteAllTextAsync(path, script.ToString());
            scripts.Add(path);
        }

        try
        {
            return await MeasureAsync(
                pcs,
                k =>
                {
                    var into = Path.Combine(dir, $"pc{k}");
                    Directory.CreateDirectory(into);
                    return ["sh", scripts[k - 1], into];
                },
                (code, _) => code == 0);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    /// <summary>
    /// Starts one command on each of PCs 1..<paramref name="pcs"/> at the same moment; time to the last one done, the
    /// upstream's patch bytes (its log), and the bytes each veth carried meanwhile (the bridge's counters).
    /// </summary>
    private async Task<Result> MeasureAsync(int pcs, Func<int, string[]> command, Func<int, string, bool> succeeded)
    {
        await File.WriteAllTextAsync(_upstream.AccessLog, string.Empty); // nginx appends (O_APPEND): a truncated log restarts the count
        var commands = Enumerable.Range(1, pcs).Select(command).ToList();
        var linksBefore = await _lan.LinkBytesAsync();
        var clock = Stopwatch.StartNew();
        var done = await Task.WhenAll(commands.Select(async (c, i) =>
        {
            var (code, output, error) = await _lan.ExecAsync(i + 1, c);
            return (Ok: succeeded(code, output), Seconds: clock.Elapsed.TotalSeconds, Error: error.Length > 0 ? error : output[^Math.Min(output.Length, 300)..]);
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        await Task.Delay(500); // nginx writes its log line as the response ends
        var linksAfter = await _lan.LinkBytesAsync();
        long Sent(int k) => linksAfter[k].Sent - linksBefore[k].Sent;
        long internet = 0;
        foreach (var line in await File.ReadAllLinesAsync(_upstream.AccessLog))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2 && parts[0].EndsWith(".deb", StringComparison.Ordinal))
            {
                internet += long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }

        var failed = done.Where(d => !d.Ok).ToList();
        if (failed.Count > 0)
        {
            Console.WriteLine($"fleet: {failed.Count} PCs failed; first: {failed[0].Error}");
        }

        return new Result(seconds, internet, failed.Count)
        {
            MedianPcSeconds = Stats.Median(done.Select(d => d.Seconds)),
            InternetLinkBytes = Sent(Internet),
            PcSent = [.. Enumerable.Range(1, pcs).Select(Sent)],
        };
    }

    internal static void CopyLogs(string work, string into)
    {
        foreach (var log in Directory.EnumerateFiles(work, "*.log", SearchOption.AllDirectories))
        {
            var target = Path.Combine(into, Path.GetRelativePath(work, log));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(log, target, overwrite: true);
        }

        Directory.Delete(work, recursive: true);
    }

    private static bool PassSucceeded(int code, string ndjson)
    {
        var last = ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (code != 0 || last is null)
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(last);
            return doc.RootElement.TryGetProperty("summary", out var summary)
                && summary.GetProperty("failed").GetInt32() == 0 && summary.GetProperty("ready").GetInt32() == Patches;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>One contender's run: time to the last PC done, upstream patch bytes (nginx's log), PCs that failed.</summary>
    public sealed record Result(double Seconds, long InternetBytes, int FailedPcs)
    {
        /// <summary>The median PC's time to done.</summary>
        public double MedianPcSeconds { get; init; } = double.NaN;

        /// <summary>What the internet namespace sent over its veth during the run (frames, headers included).</summary>
        public long InternetLinkBytes { get; init; }

        /// <summary>What each PC sent over its veth during the run (index k - 1; its upload: serving, pushing, asking).</summary>
        public long[]? PcSent { get; init; }

        /// <summary>PeerPatch: the PC that was the LAN's server.</summary>
        public int Server { get; init; }

        /// <summary>PeerPatch: the server's share of the bytes all PCs sent (interface counters).</summary>
        public double ServerShare { get; init; } = double.NaN;

        /// <summary>PeerPatch: the server's share of the LAN bytes the nodes counted as served (/metrics, lan out serve).</summary>
        public double MetricsServerShare { get; init; } = double.NaN;

        /// <summary>PeerPatch: the LAN bytes all nodes counted as served or pushed (/metrics) over the bytes the PCs needed from the LAN.</summary>
        public double LanSentPerNeeded { get; init; } = double.NaN;

        /// <summary>PeerPatch: CPU seconds (user + system) per node over the pass, the mean of all nodes.</summary>
        public double CpuPerNode { get; init; } = double.NaN;

        /// <summary>PeerPatch: the server's CPU seconds over the pass.</summary>
        public double ServerCpu { get; init; } = double.NaN;

        /// <summary>PeerPatch: the nodes' RSS just after the pass (bytes), mean and largest.</summary>
        public double RssAfterMean { get; init; } = double.NaN;

        public long RssAfterMax { get; init; }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Seconds:0.0} s (median PC {MedianPcSeconds:0.0} s), internet {InternetBytes / 1e6:0.0} MB logged / {InternetLinkBytes / 1e6:0.0} MB on the link, failed PCs {FailedPcs}")
            + (double.IsNaN(CpuPerNode) ? "" : string.Create(CultureInfo.InvariantCulture,
                $", server PC {Server}: {ServerShare:P1} of PC upload bytes ({MetricsServerShare:P1} of /metrics lan serve), LAN bytes sent {LanSentPerNeeded:0.000}× those needed, CPU {CpuPerNode:0.00} s per node (server {ServerCpu:0.00} s), RSS after {RssAfterMean / 1048576:0.0} MiB mean, {RssAfterMax / 1048576.0:0.0} MiB most"));
    }
}
