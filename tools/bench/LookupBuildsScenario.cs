using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace PeerPatch.Bench;

/// <summary>
/// Lookups only, the shipped Native AOT node against the single-file ReadyToRun build of the same code (issue 15's
/// "lookups no slower"), run after run alternating which build goes first. The LAN scenario compares each build
/// with an in-process LiteNetLib echo whose own rate moves 2x between runs on this machine; comparing the two builds
/// directly, under the same client, is the figure that can be trusted. Loopback only; writes its own section.
/// </summary>
internal static class LookupBuildsScenario
{
    public static async Task RunAsync(string repo, string work, int runs)
    {
        // PEERPATCH_BENCH_AOT_EXE: another Native AOT executable of the same code (an unstripped one for perf, while tuning).
        var aot = new NodeBuilds.Build("Native AOT", Environment.GetEnvironmentVariable("PEERPATCH_BENCH_AOT_EXE") is { Length: > 0 } exe ? exe : BenchNode.Executable(repo));
        var r2r = new NodeBuilds.Build("single-file ReadyToRun", Path.Combine(await FootprintBench.PublishReadyToRunAsync(repo, work), "peerpatch"));
        var payload = RandomNumberGenerator.GetBytes(1024);
        var sha = Convert.ToHexStringLower(SHA256.HashData(payload));
        var file = Path.Combine(work, "lookup-builds-patch");
        await File.WriteAllBytesAsync(file, payload);
        var request = LookupBench.LookupRequest("bench-1-amd64", "KB-1K", sha, payload.Length);

        var figures = new Dictionary<(string Build, string Figure), List<double>>();
        void Add(NodeBuilds.Build build, string figure, double value)
        {
            if (!figures.TryGetValue((build.Name, figure), out var list))
            {
                figures[(build.Name, figure)] = list = [];
            }

            list.Add(value);
        }

        for (var r = 0; r < runs; r++)
        {
            foreach (var build in r % 2 == 0 ? new[] { aot, r2r } : [r2r, aot])
            {
                var node = await BenchNode.StartExecutableAsync(build.Executable, Path.Combine(work, $"lookup-builds-{r}-{(build == aot ? "aot" : "r2r")}"));
                try
                {
                    await node.PushAsync(file, sha, "KB-1K");
                    var target = new IPEndPoint(IPAddress.Loopback, node.Udp);
                    await LookupBench.PipelinedAsync(target, request, 1, 32, TimeSpan.FromSeconds(2), "PeerPatch/1"); // warm-up (tiered JIT of the R2R build)
                    var cpuBefore = Proc.CpuSeconds(node.Process.Id);
                    var one = await LookupBench.RunAsync(target, request, 1, TimeSpan.FromSeconds(3), "PeerPatch/1");
                    Add(build, "1 client, one at a time", one.PerSecond);
                    Add(build, "1 client, one at a time: p50", one.P50Micros);
                    var answered = one.PerSecond * 3;
                    foreach (var clients in new[] { 1, 16 })
                    {
                        var rate = await LookupBench.PipelinedAsync(target, request, clients, 32, TimeSpan.FromSeconds(3), "PeerPatch/1");
                        Add(build, $"{clients} client{(clients > 1 ? "s" : "")}, 32 in flight each", rate);
                        answered += rate * 3;
                    }

                    // The machine's two cores are shared by the bench's clients and the node: the node's own CPU per
                    // answer is the figure the clients' load does not move.
                    Add(build, "node CPU per lookup", (Proc.CpuSeconds(node.Process.Id) - cpuBefore) / answered * 1e6);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lookup-builds run {r + 1}, {build.Name}: {string.Join("; ", figures.Where(f => f.Key.Build == build.Name).Select(f => $"{f.Key.Figure} {f.Value[^1]:0.0}"))}"));
                }
                finally
                {
                    node.Process.Kill();
                    await node.Process.WaitForExitAsync();
                }
            }
        }

        var report = new Report("bench-lookup-builds");
        foreach (var figure in figures.Keys.Where(k => k.Build == aot.Name).Select(k => k.Figure))
        {
            var (unit, higherIsBetter) = figure.EndsWith("p50", StringComparison.Ordinal) || figure.StartsWith("node CPU", StringComparison.Ordinal) ? ("µs", false) : ("/s", true);
            report.Add($"Lookups, {figure}", Stats.Median(figures[(aot.Name, figure)]), Stats.Median(figures[(r2r.Name, figure)]), unit, r2r.Name,
                higherIsBetter ? "≥ 1.00× (no slower)" : "≤ 1.00× (no slower)", higherIsBetter ? (ours, reference) => ours >= reference : (ours, reference) => ours <= reference);
        }

        report.Note("One fresh node of each build per run, loopback, pinned as server, a 1 KiB patch pushed to it; the same MessagePack Lookup (a hit) sent by the bench's LiteNetLib clients: one at a time for 3 s, then 32 in flight per client for 3 s with 1 and with 16 clients, after 2 s of unmeasured warm-up. Node CPU per lookup: utime + stime of the node process over the measured 9 s divided by the lookups answered in them. Builds alternate which goes first, run by run.");
        report.Note("Per run: " + string.Join("; ", Enumerable.Range(0, runs).Select(r => string.Join(", ", figures.Where(f => f.Key.Figure.Contains("in flight", StringComparison.Ordinal)).Select(f => string.Create(CultureInfo.InvariantCulture, $"{(f.Key.Build == aot.Name ? "AOT" : "R2R")} {f.Key.Figure[..f.Key.Figure.IndexOf(',')]} {f.Value[r]:0}/s"))))));
        report.Write(Path.Combine(repo, "docs", "benchmarks.md"), runs, $"tools/bench/run.sh {runs} lookup-builds");
        Console.WriteLine(report.Table());
    }
}
