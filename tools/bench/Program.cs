// peerpatch-bench: runs the benchmark scenarios side by side with their references and writes the results into
// docs/benchmarks.md (between the bench markers). Start it with tools/bench/run.sh, which installs the references
// and builds Release first. Loopback only; every process it starts is killed by pid at the end.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using PeerPatch.Bench;

var repo = args.Length > 0 ? Path.GetFullPath(args[0]) : Directory.GetCurrentDirectory();
var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var only = args.Length > 2 ? args[2].Split(',') : null; // a subset (lan, failover, fleet, apt-fleet, footprint, lookup-builds, p2p-fleet, fleet-builds; lookup-load only when named): printed, docs/benchmarks.md left alone (apt-fleet, footprint, p2p-fleet, fleet-builds and lookup-builds write their own sections)
bool Want(string scenario) => only is null || only.Contains(scenario);
var work = Path.Combine(Path.GetTempPath(), "peerpatch-bench-" + Environment.ProcessId);
Directory.CreateDirectory(work);
var report = new Report();
try
{
    if (Want("lan"))
    {
        // Memory, idle: a fresh node, 10 s after it answers, nothing asked of it.
        var idleNode = await BenchNode.StartAsync(repo, Path.Combine(work, "idle"));
        await Task.Delay(TimeSpan.FromSeconds(10));
        var idleRss = Proc.Rss(idleNode.Process.Id);
        idleNode.Process.Kill();

        var node = await BenchNode.StartAsync(repo, Path.Combine(work, "node"));
        var www = Path.Combine(work, "www");
        Directory.CreateDirectory(www);
        var big = await MakeFileAsync(www, 1L << 30, 1);
        var fan = await MakeFileAsync(www, 200L << 20, 2);
        var small = await MakeFileAsync(www, 1024, 3);
        foreach (var (file, sha, name) in new[] { (big.Path, big.Sha, "KB-1G"), (fan.Path, fan.Sha, "KB-200M"), (small.Path, small.Sha, "KB-1K") })
        {
            await node.PushAsync(file, sha, name);
        }

        var nginx = await Nginx.StartAsync(Path.Combine(work, "nginx"), www);
        Console.WriteLine($"node pid {node.Process.Id} udp {node.Udp} http {node.Http}; nginx port {nginx.Port}; idle RSS {idleRss >> 20} MiB");

        // 1. Lookups.
        var echo = LookupBench.StartEcho(out var echoPort);
        try
        {
            var request = LookupBench.LookupRequest("bench-1-amd64", "KB-1K", small.Sha, 1024);
            foreach (var clients in new[] { 1, 16 })
            {
                var ours = new List<LookupBench.Result>();
                var floor = new List<LookupBench.Result>();
                for (var r = 0; r < runs; r++)
                {
                    var lostBefore = LookupBench.Lost;
                    ours.Add(await LookupBench.RunAsync(new IPEndPoint(IPAddress.Loopback, node.Udp), request, clients, TimeSpan.FromSeconds(3), "PeerPatch/1"));
                    var lostOurs = LookupBench.Lost - lostBefore;
                    floor.Add(await LookupBench.RunAsync(new IPEndPoint(IPAddress.Loopback, echoPort), request, clients, TimeSpan.FromSeconds(3), "echo"));
                    Console.WriteLine($"lookups, {clients} clients, run {r + 1}: lost {lostOurs} (PeerPatch), {LookupBench.Lost - lostBefore - lostOurs} (echo)");
                }

                report.Add($"Lookup, {clients} client{(clients > 1 ? "s" : "")}: p50", Stats.Median(ours.Select(o => o.P50Micros)), Stats.Median(floor.Select(o => o.P50Micros)), "µs", "LiteNetLib echo");
                report.Add($"Lookup, {clients} client{(clients > 1 ? "s" : "")}: p99", Stats.Median(ours.Select(o => o.P99Micros)), Stats.Median(floor.Select(o => o.P99Micros)), "µs", "LiteNetLib echo", "< 1000 µs", (ours, _) => ours < 1000);
                report.Add($"Lookup, {clients} client{(clients > 1 ? "s" : "")}: lookups/s, one at a time", Stats.Median(ours.Select(o => o.PerSecond)), Stats.Median(floor.Select(o => o.PerSecond)), "/s", "LiteNetLib echo");
                var ourPipe = new List<double>();
                var floorPipe = new List<double>();
                for (var r = 0; r < runs; r++)
                {
                    ourPipe.Add(await LookupBench.PipelinedAsync(new IPEndPoint(IPAddress.Loopback, node.Udp), request, clients, 32, TimeSpan.FromSeconds(3), "PeerPatch/1"));
                    floorPipe.Add(await LookupBench.PipelinedAsync(new IPEndPoint(IPAddress.Loopback, echoPort), request, clients, 32, TimeSpan.FromSeconds(3), "echo"));
                }

                report.Add($"Lookup, {clients} client{(clients > 1 ? "s" : "")}: lookups/s, 32 in flight each", Stats.Median(ourPipe), Stats.Median(floorPipe), "/s", "LiteNetLib echo", clients == 16 ? "≥ 50,000/s" : null, clients == 16 ? (ours, _) => ours >= 50_000 : null);
            }
        }
        finally
        {
            echo.Stop();
        }

        // 2. LAN fetch of 1 GiB, and 5. peak memory while serving it.
        var ourFetch = new List<double>();
        var nginxFetch = new List<double>();
        var beforeServing = Proc.Rss(node.Process.Id);
        long peak = 0;
        for (var r = 0; r < runs; r++)
        {
            using (var sampler = RssSampler.Start(node.Process.Id))
            {
                var (s, bytes) = await Curl.GetAsync(new Uri(node.BaseUri, $"v1/blobs/{big.Sha}"));
                ourFetch.Add(bytes / s);
                peak = Math.Max(peak, sampler.Peak);
            }

            var (ns, nbytes) = await Curl.GetAsync(new Uri(nginx.BaseUri, big.Sha));
            nginxFetch.Add(nbytes / ns);
        }

        report.Add("LAN fetch, 1 GiB, one curl", Stats.Median(ourFetch) / 1e6, Stats.Median(nginxFetch) / 1e6, "MB/s", "nginx (sendfile)", "≥ 0.9× nginx", (ours, nginx) => ours >= 0.9 * nginx);

        // 3. Fan-out: 20 curls of one 200 MiB blob at once.
        var ourFan = new List<double>();
        var nginxFan = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            ourFan.Add(await FanOutAsync(new Uri(node.BaseUri, $"v1/blobs/{fan.Sha}"), 20));
            nginxFan.Add(await FanOutAsync(new Uri(nginx.BaseUri, fan.Sha), 20));
        }

        report.Add("Fan-out, 20 curls × 200 MiB, aggregate", Stats.Median(ourFan) / 1e6, Stats.Median(nginxFan) / 1e6, "MB/s", "nginx (sendfile)", "≥ 0.8× nginx", (ours, nginx) => ours >= 0.8 * nginx);
        report.Add("Memory: idle RSS (fresh node, 10 s)", idleRss / 1048576.0, double.NaN, "MiB", "", "≤ 60 MiB", (ours, _) => ours <= 60);
        report.Add("Memory: peak RSS serving 1 GiB (growth over the node's RSS before)", peak / 1048576.0, beforeServing / 1048576.0, "MiB", "RSS before serving", "≤ +30 MiB", (peak, before) => peak - before <= 30);
    }

    // 8. Footprint (issue 15): the shipped Native AOT build against the single-file ReadyToRun build it replaced, both
    // from this code. Its table has a section of its own, written whenever it runs.
    if (Want("footprint"))
    {
        var www = Path.Combine(work, "footprint-www");
        Directory.CreateDirectory(www);
        var big = await MakeFileAsync(www, 1L << 30, 11);
        var aot = await FootprintBench.ShippedAsync(repo, work);
        var r2r = await FootprintBench.ReadyToRunAsync(repo, work);
        var results = new Dictionary<string, List<FootprintBench.Result>> { [aot.Name] = [], [r2r.Name] = [] };
        foreach (var build in new[] { aot, r2r })
        {
            await FootprintBench.MeasureAsync(build, Path.Combine(work, $"footprint-warmup-{(build == aot ? "aot" : "r2r")}"), big); // page cache, single-file extraction: not counted
        }

        for (var r = 0; r < runs; r++)
        {
            foreach (var build in new[] { aot, r2r })
            {
                var result = await FootprintBench.MeasureAsync(build, Path.Combine(work, $"footprint-{r}-{(build == aot ? "aot" : "r2r")}"), big);
                results[build.Name].Add(result);
                Console.WriteLine($"footprint run {r + 1}, {build.Name}: {result}");
            }
        }

        const double MiB = 1 << 20;
        double Median(FootprintBench.Build b, Func<FootprintBench.Result, double> f) => Stats.Median(results[b.Name].Select(f));
        var fp = new Report("bench-footprint");
        fp.Add(".deb size", aot.DebBytes / MiB, r2r.DebBytes / MiB, "MiB", r2r.Name, "≤ 20 MiB", (ours, _) => ours <= 20);
        fp.Add("Exec to the first /v1/status answer", Median(aot, x => x.Start.TotalMilliseconds), Median(r2r, x => x.Start.TotalMilliseconds), "ms", r2r.Name, "≤ 150 ms", (ours, _) => ours <= 150);
        fp.Add("Idle RSS, fresh node (10 s after its first answer)", Median(aot, x => x.IdleRss / MiB), Median(r2r, x => x.IdleRss / MiB), "MiB", r2r.Name, "≤ 35 MiB", (ours, _) => ours <= 35);
        var window = FootprintBench.IdleWindow.TotalSeconds;
        fp.Add("Idle CPU, fresh node (per minute, counted over 20 s)", Median(aot, x => x.IdleCpu * 1000 * 60 / window), Median(r2r, x => x.IdleCpu * 1000 * 60 / window), "ms", r2r.Name);
        fp.Add("Idle wake-ups, fresh node (context switches per second, all threads)", Median(aot, x => x.IdleWakeups / window), Median(r2r, x => x.IdleWakeups / window), "/s", r2r.Name);
        fp.Add("Peak RSS serving 1 GiB, growth over its idle RSS", Median(aot, x => (x.PeakServing - x.IdleRss) / MiB), Median(r2r, x => (x.PeakServing - x.IdleRss) / MiB), "MiB", r2r.Name, "≤ +30 MiB", (ours, _) => ours <= 30);
        fp.Add("Peak RSS serving 1 GiB, growth over its RSS after the push", Median(aot, x => (x.PeakServing - x.BeforeServing) / MiB), Median(r2r, x => (x.PeakServing - x.BeforeServing) / MiB), "MiB", r2r.Name);
        fp.Add("Peak RSS serving 1 GiB", Median(aot, x => x.PeakServing / MiB), Median(r2r, x => x.PeakServing / MiB), "MiB", r2r.Name);
        fp.Note($"PeerPatch = the shipped Native AOT executables (artifacts/publish/linux-x64); reference = the same code published as before issue 15 (self-contained single file with its native libraries inside, the node ReadyToRun). Executables: {Sizes(aot.Dir)} (Native AOT); {Sizes(r2r.Dir)} (single file).");
        fp.Note("Each run starts a fresh node of each build (Native AOT first), loopback only, pinned as server: exec to its first 200 answer to GET /v1/status (polled every 5 ms), its RSS 10 s later, its CPU time and context switches (/proc, every thread) over the 20 s after that, then a 1 GiB patch pushed to it and fetched by curl while its RSS is sampled every 20 ms. One unmeasured start of each build comes first (page cache; the single file's extraction).");
        fp.Write(Path.Combine(repo, "docs", "benchmarks.md"), runs, $"tools/bench/run.sh {runs} footprint");
        Console.WriteLine(fp.Table());
    }

    // 9. Lookups, the Native AOT node against the ReadyToRun build of the same code (issue 15); its own section.
    if (Want("lookup-builds"))
    {
        await LookupBuildsScenario.RunAsync(repo, work, runs);
    }

    // A profiling aid, run only when named (never in a full run): one node (PEERPATCH_BENCH_AOT_EXE, or the shipped
    // executable) under 16 clients × 32 lookups in flight, RUNS spells of 5 s, its pid printed first for perf -p.
    if (only?.Contains("lookup-load") == true)
    {
        var exe = Environment.GetEnvironmentVariable("PEERPATCH_BENCH_AOT_EXE") is { Length: > 0 } e ? e : BenchNode.Executable(repo);
        var node = await BenchNode.StartExecutableAsync(exe, Path.Combine(work, "lookup-load"));
        var payload = RandomNumberGenerator.GetBytes(1024);
        var file = Path.Combine(work, "lookup-load-patch");
        await File.WriteAllBytesAsync(file, payload);
        var sha = Convert.ToHexStringLower(SHA256.HashData(payload));
        await node.PushAsync(file, sha, "KB-1K");
        var request = LookupBench.LookupRequest("bench-1-amd64", "KB-1K", sha, payload.Length);
        var target = new IPEndPoint(IPAddress.Loopback, node.Udp);
        await LookupBench.PipelinedAsync(target, request, 1, 32, TimeSpan.FromSeconds(2), "PeerPatch/1"); // warm-up
        Console.WriteLine($"lookup-load: node pid {node.Process.Id}");
        for (var r = 0; r < runs; r++)
        {
            var cpuBefore = Proc.CpuSeconds(node.Process.Id);
            var rate = await LookupBench.PipelinedAsync(target, request, 16, 32, TimeSpan.FromSeconds(5), "PeerPatch/1");
            var cpu = Proc.CpuSeconds(node.Process.Id) - cpuBefore;
            Console.WriteLine($"lookup-load spell {r + 1}: {rate:0} lookups/s, node CPU {cpu:0.00} s over the spell");
        }
    }

    // 6. Failover, 10 nodes in network namespaces (root only).
    if (Want("failover") && NetnsLan.CanRun)
    {
        var failovers = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            failovers.Add(await FailoverBench.RunAsync(repo, Path.Combine(work, $"failover{r}"), 10));
            Proc.KillAll(); // only the failover nodes are left of this round; the loopback node and nginx are done
        }

        report.Add("Failover, 10 nodes: SIGKILL of the server to the first lookup answered by the new one", Stats.Median(failovers), double.NaN, "s", "", "≤ 3 s", (seconds, _) => seconds <= 3);
    }

    // 4. Fleet: 20 PCs, 25 patches, a 20 MB/s uplink; PeerPatch against direct downloads and apt-cacher-ng.
    if ((Want("fleet") || Want("fleet-nodirect")) && NetnsLan.CanRun && File.Exists("/usr/sbin/apt-cacher-ng"))
    {
        const int pcs = 20;
        await using var fleet = await FleetBench.CreateAsync(repo, Path.Combine(work, "fleet"), pcs, upstreamMegabytesPerSecond: 20);
        var build = (await NodeBuilds.ResolveAsync(repo, work, "aot"))[0]; // PEERPATCH_BENCH_BUILD=r2r: the ReadyToRun node
        var ours = new List<FleetBench.Result>();
        var direct = new List<FleetBench.Result>();
        var acng = new List<FleetBench.Result>();
        for (var r = 0; r < runs; r++)
        {
            ours.Add(await fleet.PeerPatchAsync(r, pcs, build.Executable, peerServing: null));
            acng.Add(await fleet.AptCacherNgAsync(r));
            direct.Add(only?.Contains("fleet-nodirect") == true ? new FleetBench.Result(double.NaN, 0, 0) : await fleet.DirectAsync(r)); // (the slow one, skippable while tuning)
            Console.WriteLine($"fleet run {r + 1}: PeerPatch {ours[^1]}, apt-cacher-ng {acng[^1]}, direct {direct[^1]}");
        }

        var unique = (double)fleet.UniqueBytes;
        report.Add($"Fleet, {pcs} PCs × 25 patches ({unique / 1e6:0.0} MB), 20 MB/s uplink: internet bytes / unique bytes", Stats.Median(ours.Select(o => o.InternetBytes / unique)), Stats.Median(acng.Select(o => o.InternetBytes / unique)), "", "apt-cacher-ng", "≤ 1.01", (ours, _) => ours <= 1.01);
        report.Add($"Fleet: internet bytes / unique bytes, every PC direct", Stats.Median(direct.Select(o => o.InternetBytes / unique)), double.NaN, "", "");
        report.Add($"Fleet: time until the last PC is done", Stats.Median(ours.Select(o => o.Seconds)), Stats.Median(acng.Select(o => o.Seconds)), "s", "apt-cacher-ng", "≤ apt-cacher-ng", (ours, reference) => ours <= reference);
        report.Add($"Fleet: time until the last PC is done, against every PC direct", Stats.Median(ours.Select(o => o.Seconds)), Stats.Median(direct.Select(o => o.Seconds)), "s", "direct");
        var failedPcs = ours.Concat(acng).Concat(direct).Sum(o => o.FailedPcs);
        report.Note($"Fleet: PeerPatch PCs ({build.Name} node) run one dry-run pass (obtain and verify, install nothing); the references curl the feed and every patch and check each SHA-256 with sha256sum. PCs that failed, over all runs and contenders: {failedPcs}.");
    }

    // 9. The shaped fleet (issue 16): PC links of 100 Mbit/s; peer-to-peer, server-only, apt-cacher-ng, direct. Its
    // own section, written whenever it runs.
    if (Want("p2p-fleet") && NetnsLan.CanRun && File.Exists("/usr/sbin/apt-cacher-ng"))
    {
        await P2pFleetScenario.RunAsync(repo, work, runs);
    }

    // 10. The fleet with the Native AOT node and the single-file ReadyToRun node (issue 15), against apt-cacher-ng.
    // Its own section, written whenever it runs.
    if (Want("fleet-builds") && NetnsLan.CanRun && File.Exists("/usr/sbin/apt-cacher-ng"))
    {
        await FleetBuildsScenario.RunAsync(repo, work, runs);
    }

    // 7. Apt fleet: 3 and 20 PCs running real apt-get against a real Debian archive behind a 20 MB/s uplink; PeerPatch
    // (each PC through its own node) against apt-cacher-ng and direct. Its table has a section of its own, written
    // whenever it runs.
    if (Want("apt-fleet") && NetnsLan.CanRun && File.Exists("/usr/sbin/apt-cacher-ng"))
    {
        await using var apt = await AptFleetBench.CreateAsync(repo, Path.Combine(work, "apt-fleet"), 20, upstreamMegabytesPerSecond: 20);
        var results = new Dictionary<(AptFleetBench.Contender, int), List<AptFleetBench.Result>>();
        for (var r = 0; r < runs; r++)
        {
            foreach (var pcs in (Environment.GetEnvironmentVariable("PEERPATCH_BENCH_APT_PCS") ?? "3,20").Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture))) // fewer while tuning
            {
                foreach (var who in Enum.GetValues<AptFleetBench.Contender>())
                {
                    var result = await apt.RunAsync(who, pcs, r);
                    (results.TryGetValue((who, pcs), out var list) ? list : results[(who, pcs)] = []).Add(result);
                    Console.WriteLine($"apt fleet run {r + 1}, {pcs} PCs, {who}: {result}");
                }
            }
        }

        var aptReport = new Report("bench-apt-fleet");
        AptFleetReport.Add(aptReport, apt, results);
        aptReport.Note("Each PC runs real `apt-get update` and `apt-get download` of every package (apt's own state and configuration per PC and run; apt checks every file against the signed index, then the bench checks each SHA-256). Upstream bytes are nginx's logged body bytes; index fetches count responses with a body (a 304 has none).");
        if (Environment.GetEnvironmentVariable("PEERPATCH_BENCH_APT_PCS") is null)
        {
            aptReport.Write(Path.Combine(repo, "docs", "benchmarks.md"), runs, $"tools/bench/run.sh {runs} apt-fleet");
        }

        Console.WriteLine(aptReport.Table());
    }

    report.Note($"Lookup round trips with no answer within 5 s (each kept as a 5 s sample): {LookupBench.Lost}, over every lookup scenario, PeerPatch and the echo reference together.");
    if (only is null)
    {
        report.Write(Path.Combine(repo, "docs", "benchmarks.md"), runs);
    }

    Console.WriteLine(report.Table());
    Console.WriteLine($"lookups without an answer within 5 s: {LookupBench.Lost}");
}
finally
{
    Proc.KillAll();
    try
    {
        Directory.Delete(work, recursive: true);
    }
    catch (IOException)
    {
    }
}

static string Sizes(string dir) => string.Join(", ", Directory.GetFiles(dir).Order(StringComparer.Ordinal).Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length / 1048576.0:0.0} MiB"));

static async Task<double> FanOutAsync(Uri url, int clients)
{
    var watch = Stopwatch.StartNew();
    var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Curl.GetAsync(url)));
    return results.Sum(r => r.Bytes) / watch.Elapsed.TotalSeconds;
}

static async Task<(string Path, string Sha)> MakeFileAsync(string dir, long size, int seed)
{
    var tmp = Path.Combine(dir, $"tmp-{seed}");
    var block = new byte[4 << 20];
    var random = new Random(seed);
    using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    await using (var file = File.Create(tmp))
    {
        for (long done = 0; done < size; done += block.Length)
        {
            random.NextBytes(block);
            var n = (int)Math.Min(block.Length, size - done);
            hash.AppendData(block, 0, n);
            await file.WriteAsync(block.AsMemory(0, n));
        }
    }

    var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
    var path = Path.Combine(dir, sha);
    File.Move(tmp, path, overwrite: true);
    return (path, sha);
}
