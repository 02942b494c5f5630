using System.Globalization;

namespace PeerPatch.Bench;

/// <summary>
/// Issue 16's benchmark (scenario p2p-fleet): the fleet with every PC's link shaped like an office LAN (tc tbf of
/// 100 Mbit/s on both ends of each PC's veth), the internet behind a shared 20 MB/s uplink, 25 patches (97.5 MB),
/// cold. Contenders, interleaved run by run: PeerPatch with peer serving (the default), PeerPatch server-only
/// (PEERPATCH_PeerServing=false), apt-cacher-ng on its own namespace with the same 100 Mbit/s link (every PC curls
/// every patch through it, PCs in parallel, patches one after another as a node's pass takes them), direct, and the
/// ideal schedule (the patches already on every PC, curled from each other's nginx so every upload serves one download
/// at a time: what this machine's emulated LAN can do with the bytes, see FleetBench.IdealAsync).
/// PEERPATCH_BENCH_PCS: fleet sizes (default 20; e.g. 10,20,50); PEERPATCH_BENCH_CONTENDERS: a subset of
/// p2p,server-only,apt-cacher-ng,direct,ideal; PEERPATCH_BENCH_BUILD: aot (default) or r2r. Writes the section between the
/// bench-p2p-fleet markers. PEERPATCH_BENCH_SLOWDOWN=K divides every link's rate by K (the physical limit grows K
/// times) and writes the bench-p2p-fleet-slowed section instead: 20 nodes on this machine's 2 cores need more CPU than
/// a 7.9 s pass leaves them, so only a slowed LAN shows how near the limit the distribution itself comes.
/// </summary>
internal static class P2pFleetScenario
{
    private const double FullPcMegabits = 100;
    private const double FullUplinkMegabytes = 20;
    private static readonly string[] AllContenders = ["p2p", "server-only", "apt-cacher-ng", "direct", "ideal"];

    public static async Task RunAsync(string repo, string work, int runs)
    {
        var sizes = (Environment.GetEnvironmentVariable("PEERPATCH_BENCH_PCS") ?? "20").Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToArray();
        var contenders = Environment.GetEnvironmentVariable("PEERPATCH_BENCH_CONTENDERS") is { Length: > 0 } set ? set.Split(',') : AllContenders;
        if (contenders.FirstOrDefault(c => !AllContenders.Contains(c)) is { } unknown)
        {
            throw new ArgumentException($"PEERPATCH_BENCH_CONTENDERS: unknown contender '{unknown}' ({string.Join(", ", AllContenders)})");
        }

        var slowdown = double.Parse(Environment.GetEnvironmentVariable("PEERPATCH_BENCH_SLOWDOWN") ?? "1", CultureInfo.InvariantCulture);
        if (slowdown < 1)
        {
            throw new ArgumentException("PEERPATCH_BENCH_SLOWDOWN: a factor of 1 or more");
        }

        var (pcMegabits, uplinkMegabytes) = (FullPcMegabits / slowdown, FullUplinkMegabytes / slowdown);
        var pcRate = pcMegabits / 8; // MB/s
        var build = (await NodeBuilds.ResolveAsync(repo, work, "aot"))[0];
        var queue = int.Parse(Environment.GetEnvironmentVariable("PEERPATCH_BENCH_PC_QUEUE_MS") ?? "50", CultureInfo.InvariantCulture);
        await using var fleet = await FleetBench.CreateAsync(repo, Path.Combine(work, "p2p-fleet"), sizes.Max(), uplinkMegabytes, pcMegabits, queue, prefix: "pb");
        var check = await fleet.ShapeCheckAsync();
        var shaping = string.Create(CultureInfo.InvariantCulture,
            $"Shaping check (curl of 40 MB, before the runs): one PC from the internet {check.OnePc:0.00} MB/s (its {pcMegabits:0.#} Mbit/s download; {pcRate:0.##} MB/s of frames); three PCs from the internet at once {check.Uplink:0.00} MB/s in all (the {uplinkMegabytes:0.##} MB/s uplink); two PCs at once from an nginx on PC 1 {check.OnePcUpload:0.00} MB/s in all (PC 1's {pcMegabits:0.#} Mbit/s upload).");
        Console.WriteLine(shaping);
        var results = new Dictionary<(string Who, int Pcs), List<FleetBench.Result>>();
        for (var r = 0; r < runs; r++)
        {
            foreach (var pcs in sizes)
            {
                foreach (var who in contenders)
                {
                    var result = who switch
                    {
                        "p2p" => await fleet.PeerPatchAsync(r, pcs, build.Executable, peerServing: true),
                        "server-only" => await fleet.PeerPatchAsync(r, pcs, build.Executable, peerServing: false),
                        "apt-cacher-ng" => await fleet.AptCacherNgAsync(r, pcs),
                        "ideal" => await fleet.IdealAsync(r, pcs),
                        _ => await fleet.DirectAsync(r, pcs),
                    };
                    (results.TryGetValue((who, pcs), out var list) ? list : results[(who, pcs)] = []).Add(result);
                    Console.WriteLine($"p2p-fleet run {r + 1}, {pcs} PCs, {who}: {result}");
                }
            }
        }

        var report = new Report(slowdown == 1 ? "bench-p2p-fleet" : "bench-p2p-fleet-slowed");
        var unique = (double)fleet.UniqueBytes;
        var limit = (unique / (pcMegabits * 125_000)) + (fleet.FirstPatchBytes / (uplinkMegabytes * 1e6));
        double Median(string who, int pcs, Func<FleetBench.Result, double> f) => results.TryGetValue((who, pcs), out var list) ? Stats.Median(list.Select(f)) : double.NaN;
        foreach (var pcs in sizes)
        {
            var what = $"{pcs} PCs";
            double Time(string who) => Median(who, pcs, o => o.Seconds);
            double Internet(string who) => Median(who, pcs, o => o.InternetBytes / unique);
            report.Add($"{what}: time to the last PC, peer-to-peer against server-only", Time("p2p"), Time("server-only"), "s", "server-only", "≤ 0.25×", (o, s) => o <= 0.25 * s);
            report.Add($"{what}: time to the last PC, peer-to-peer against apt-cacher-ng", Time("p2p"), Time("apt-cacher-ng"), "s", "apt-cacher-ng", "≤ 0.25×", (o, a) => o <= 0.25 * a);
            report.Add($"{what}: time to the last PC, peer-to-peer against direct", Time("p2p"), Time("direct"), "s", "direct");
            report.Add($"{what}: time to the last PC, peer-to-peer against the physical limit", Time("p2p"), limit, "s", "limit", "≤ 2×", (o, l) => o <= 2 * l);
            report.Add($"{what}: time to the last PC, peer-to-peer against the ideal schedule on this machine (curl from nginx on the PCs)", Time("p2p"), Time("ideal"), "s", "ideal");
            foreach (var who in new[] { "server-only", "apt-cacher-ng", "direct", "ideal" })
            {
                report.Add($"{what}: time to the last PC, {who} against the physical limit", Time(who), limit, "s", "limit");
            }

            report.Add($"{what}: internet bytes / unique bytes (nginx's log), peer-to-peer against server-only", Internet("p2p"), Internet("server-only"), "", "server-only", "= 1.00", (o, _) => o < 1.005);
            report.Add($"{what}: internet bytes / unique bytes (nginx's log), peer-to-peer against apt-cacher-ng", Internet("p2p"), Internet("apt-cacher-ng"), "", "apt-cacher-ng", "= 1.00", (o, _) => o < 1.005);
            report.Add($"{what}: internet bytes / unique bytes (nginx's log), direct", Internet("direct"), double.NaN, "", "");
            report.Add($"{what}: internet link bytes / unique bytes (the uplink's frames), peer-to-peer against apt-cacher-ng", Median("p2p", pcs, o => o.InternetLinkBytes / unique), Median("apt-cacher-ng", pcs, o => o.InternetLinkBytes / unique), "", "apt-cacher-ng");
            report.Add($"{what}: the server's share of the bytes PCs sent on the LAN (interface counters), peer-to-peer against server-only", Median("p2p", pcs, o => o.ServerShare * 100), Median("server-only", pcs, o => o.ServerShare * 100), "%", "server-only", "≤ 20 %", (o, _) => o <= 20);
            report.Add($"{what}: the server's share of LAN bytes served (the nodes' /metrics), peer-to-peer against server-only", Median("p2p", pcs, o => o.MetricsServerShare * 100), Median("server-only", pcs, o => o.MetricsServerShare * 100), "%", "server-only");
            report.Add($"{what}: CPU seconds per node per pass, peer-to-peer against server-only", Median("p2p", pcs, o => o.CpuPerNode), Median("server-only", pcs, o => o.CpuPerNode), "s", "server-only");
        }

        foreach (var ((who, pcs), list) in results.OrderBy(x => x.Key.Pcs).ThenBy(x => Array.IndexOf(AllContenders, x.Key.Who)))
        {
            report.Note(string.Create(CultureInfo.InvariantCulture, $"{pcs} PCs, {who}, run by run: ") + string.Join("; ", list.Select((o, i) => $"{i + 1}: {o}")));
        }

        if (sizes.Length > 1)
        {
            report.Note("Time to the last PC by fleet size (median): " + string.Join("; ", contenders.Select(who =>
                $"{who} " + string.Join(" / ", sizes.Select(pcs => Median(who, pcs, o => o.Seconds).ToString("0.0", CultureInfo.InvariantCulture) + " s")))) + $" for {string.Join(" / ", sizes)} PCs.");
        }

        report.Note(shaping);
        report.Note(string.Create(CultureInfo.InvariantCulture,
            $"Physical limit = unique bytes over one PC's {pcMegabits:0.#} Mbit/s link ({unique / 1e6:0.0} MB / {pcRate:0.##} MB/s = {unique / (pcRate * 1e6):0.00} s) + the first patch over the {uplinkMegabytes:0.##} MB/s uplink ({fleet.FirstPatchBytes / 1e6:0.0} MB: {fleet.FirstPatchBytes / (uplinkMegabytes * 1e6):0.00} s) = {limit:0.00} s. (With the whole unique bytes over the uplink instead of the first patch it would be {(unique / (pcRate * 1e6)) + (unique / (uplinkMegabytes * 1e6)):0.00} s.)"));
        if (slowdown != 1)
        {
            report.Note(string.Create(CultureInfo.InvariantCulture, $"Slowed LAN (PEERPATCH_BENCH_SLOWDOWN={slowdown:0.##}): every rate of the issue's LAN (100 Mbit/s PC links, a 20 MB/s uplink) divided by {slowdown:0.##}, the tbf bursts and queues as there; the same nodes, patches and passes."));
        }
        report.Note($"Node build: {build.Name} ({build.Executable}). Peer-to-peer = the node's default (PEERPATCH_PeerServing=true, set explicitly); server-only = PEERPATCH_PeerServing=false. Each PeerPatch PC runs one dry-run pass (obtained from the LAN or the internet, verified against the feed's SHA-256, nothing installed); apt-cacher-ng and direct PCs curl every patch and check its SHA-256. Byte shares come from the bridge's counters of each PC's veth over the run (what each PC sent: serving, pushing to the server, and requests); the /metrics share is the server's peerpatch_bytes_total{{source=lan,direction=out,kind=serve}} over all nodes'. CPU = utime + stime of each node process over the pass.");
        report.Write(Path.Combine(repo, "docs", "benchmarks.md"), runs, (slowdown == 1 ? "" : string.Create(CultureInfo.InvariantCulture, $"PEERPATCH_BENCH_SLOWDOWN={slowdown:0.##} ")) + $"PEERPATCH_BENCH_PCS={string.Join(',', sizes)} tools/bench/run.sh {runs} p2p-fleet");
        Console.WriteLine(report.Table());
    }
}
