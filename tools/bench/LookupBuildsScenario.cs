using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace PeerPatch.Bench;

/// <summary>
/// Lookups only, the shipped Native AOT node against the single-file ReadyToRun build of the same code (issue 15's
/// "lookups no slower"). Both nodes run side by side for the whole run, and the bench measures them in alternating
/// one-second spells (A B B A A B ...), each node's clients connected throughout: whatever the machine does over a
/// run (another process, the CPU's clock, the bench's own GC) falls on both builds alike. The earlier form of this
/// scenario measured one node for 9 s and then the other; run with one executable in both slots it put the second
/// slot 9 to 15 % ahead, the same size as the gap it reported between the builds. PEERPATCH_BENCH_R2R_DIR pointing
/// at the shipped build runs that check (A/A; printed, not written). Loopback only; writes its own section.
/// </summary>
internal static class LookupBuildsScenario
{
    private static readonly TimeSpan Spell = TimeSpan.FromSeconds(1);
    private const int SpellsPerBuild = 8;

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
        var shapes = new (string Figure, int Clients, int InFlight)[] { ("1 client, one at a time", 1, 0), ("1 client, 32 in flight each", 1, 32), ("16 clients, 32 in flight each", 16, 32) };

        // Per run and build: each figure's rate over all its spells, p50 of every one-at-a-time round trip, CPU per lookup per figure.
        var figures = new Dictionary<(string Build, string Figure), List<double>>();
        var spellsWon = shapes.ToDictionary(s => s.Figure, _ => (Aot: 0, Pairs: 0));
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
            var builds = r % 2 == 0 ? new[] { aot, r2r } : [r2r, aot];
            var nodes = new Dictionary<NodeBuilds.Build, BenchNode>();
            try
            {
                foreach (var build in builds)
                {
                    nodes[build] = await BenchNode.StartExecutableAsync(build.Executable, Path.Combine(work, $"lookup-builds-{r}-{(build == aot ? "aot" : "r2r")}"));
                    await nodes[build].PushAsync(file, sha, "KB-1K");
                }

                foreach (var build in builds)
                {
                    await LookupBench.PipelinedAsync(Target(nodes[build]), request, 1, 32, TimeSpan.FromSeconds(2), "PeerPatch/1"); // warm-up (tiered JIT of the R2R build)
                }

                foreach (var (figure, clients, inFlight) in shapes)
                {
                    var groups = new Dictionary<NodeBuilds.Build, LookupBench.Clients>();
                    try
                    {
                        foreach (var build in builds)
                        {
                            groups[build] = await LookupBench.Clients.ConnectAsync(Target(nodes[build]), clients, "PeerPatch/1");
                            await groups[build].WarmUpAsync(request);
                        }

                        var answered = builds.ToDictionary(b => b, _ => 0L);
                        var cpu = builds.ToDictionary(b => b, _ => 0.0);
                        var gen0 = builds.ToDictionary(b => b, _ => 0L);
                        var seconds = builds.ToDictionary(b => b, _ => 0.0);
                        var samples = builds.ToDictionary(b => b, _ => new List<double>());
                        for (var pair = 0; pair < SpellsPerBuild; pair++)
                        {
                            var rates = new Dictionary<NodeBuilds.Build, double>();
                            foreach (var build in pair % 2 == 0 ? builds : [builds[1], builds[0]])
                            {
                                var pid = nodes[build].Process.Id;
                                var gen0Before = await nodes[build].Gen0CollectionsAsync(); // the /metrics scrapes stay outside the CPU window
                                var cpuBefore = Proc.CpuSeconds(pid);
                                long count;
                                TimeSpan elapsed;
                                if (inFlight == 0)
                                {
                                    (var taken, elapsed) = await groups[build].RoundTripsAsync(request, Spell);
                                    samples[build].AddRange(taken);
                                    count = taken.Count;
                                }
                                else
                                {
                                    (count, elapsed) = await groups[build].PipelinedAsync(request, inFlight, Spell);
                                }

                                cpu[build] += Proc.CpuSeconds(pid) - cpuBefore;
                                gen0[build] += await nodes[build].Gen0CollectionsAsync() - gen0Before;
                                answered[build] += count;
                                seconds[build] += elapsed.TotalSeconds;
                                rates[build] = count / elapsed.TotalSeconds;
                            }

                            var won = spellsWon[figure];
                            spellsWon[figure] = (won.Aot + (rates[aot] > rates[r2r] ? 1 : 0), won.Pairs + 1);
                        }

                        foreach (var build in builds)
                        {
                            Add(build, figure, answered[build] / seconds[build]);

                            // The machine's two cores are shared by the bench's clients and the nodes: the node's own CPU
                            // per answer (utime + stime over its own spells) is the figure the clients' load moves least.
                            // Per shape: a lookup one at a time costs the node several pipelined ones, so a figure pooled
                            // over the shapes would weigh the build that answers fewer pipelined lookups with dearer ones.
                            Add(build, "node CPU per lookup, " + figure, cpu[build] / answered[build] * 1e6);
                            Add(build, "node gen0 GCs per 10,000 lookups, " + figure, gen0[build] * 1e4 / answered[build]);
                            if (inFlight == 0)
                            {
                                Add(build, figure + ": p50", Stats.Median(samples[build]));
                            }
                        }
                    }
                    finally
                    {
                        foreach (var group in groups.Values)
                        {
                            group.Dispose();
                        }
                    }
                }

                foreach (var build in builds)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lookup-builds run {r + 1}, {build.Name}: {string.Join("; ", figures.Where(f => f.Key.Build == build.Name).Select(f => $"{f.Key.Figure} {f.Value[^1]:0.0}"))}"));
                }
            }
            finally
            {
                foreach (var node in nodes.Values)
                {
                    node.Process.Kill();
                    await node.Process.WaitForExitAsync();
                }
            }
        }

        var report = new Report("bench-lookup-builds");
        const string Gen0 = "node gen0 GCs per 10,000 lookups, ";
        foreach (var figure in figures.Keys.Where(k => k.Build == aot.Name && !k.Figure.StartsWith(Gen0, StringComparison.Ordinal)).Select(k => k.Figure))
        {
            var (unit, higherIsBetter) = figure.EndsWith("p50", StringComparison.Ordinal) || figure.StartsWith("node CPU", StringComparison.Ordinal) ? ("µs", false) : ("/s", true);
            report.Add($"Lookups, {figure}", Stats.Median(figures[(aot.Name, figure)]), Stats.Median(figures[(r2r.Name, figure)]), unit, r2r.Name,
                higherIsBetter ? "≥ 1.00× (no slower)" : "≤ 1.00× (no slower)", higherIsBetter ? (ours, reference) => ours >= reference : (ours, reference) => ours <= reference);
        }

        report.Note($"Both builds' nodes run side by side, loopback, each pinned as server with a 1 KiB patch pushed to it, and the bench's LiteNetLib clients send the same MessagePack Lookup (a hit) to one node at a time in spells of {Spell.TotalSeconds:0} s, alternating A B B A ..., {SpellsPerBuild} spells per build and figure: one lookup at a time with 1 client, then 32 in flight per client with 1 and with 16 clients (each node's clients connected and warmed up before its first spell, after 2 s of unmeasured pipelined warm-up per node). A pipelined spell ends once every lookup sent in it is answered (none is left over into the next). A figure is the lookups a build answered over all its spells of a run divided by their time; node CPU per lookup, per figure: utime + stime of the node process over its own spells of that figure divided by the lookups answered in them. Which build starts alternates run by run; the table holds medians over the runs.");
        report.Note("Spells in which the Native AOT node answered more than the ReadyToRun node in the spell beside it: " + string.Join("; ", spellsWon.Select(w => $"{w.Key}: {w.Value.Aot} of {w.Value.Pairs}")) + ".");
        // Not a goal: the ReadyToRun build runs with the runtime's own gen0 budget, the AOT build with its fixed 4 MiB one.
        report.Note("Node gen0 collections per 10,000 lookups, medians, AOT / R2R (read off each node's /metrics around its spells): " + string.Join("; ", shapes.Select(s =>
            string.Create(CultureInfo.InvariantCulture, $"{s.Figure}: {Stats.Median(figures[(aot.Name, Gen0 + s.Figure)]):0.0} / {Stats.Median(figures[(r2r.Name, Gen0 + s.Figure)]):0.0}"))) + ".");
        string Ratio(string figure, int run) => string.Create(CultureInfo.InvariantCulture, $"{figures[(aot.Name, figure)][run] / figures[(r2r.Name, figure)][run]:0.00}×");
        report.Note("Per run, AOT / R2R, rate and node CPU per lookup (one at a time; 32 in flight, 1 client; 32 in flight, 16 clients): " + string.Join("; ", Enumerable.Range(0, runs).Select(r =>
            $"run {r + 1} (AOT {(r % 2 == 0 ? "first" : "second")}): " + string.Join(", ", shapes.Select(s => Ratio(s.Figure, r))) + ", CPU " + string.Join(", ", shapes.Select(s => Ratio("node CPU per lookup, " + s.Figure, r))))));
        if (string.Equals(Path.GetFullPath(aot.Executable), Path.GetFullPath(r2r.Executable), StringComparison.Ordinal))
        {
            Console.WriteLine("lookup-builds: one executable in both slots (the A/A check): printed, docs/benchmarks.md left alone");
        }
        else
        {
            report.Write(Path.Combine(repo, "docs", "benchmarks.md"), runs, $"tools/bench/run.sh {runs} lookup-builds");
        }
        Console.WriteLine(report.Table());
        Console.WriteLine(string.Join(Environment.NewLine, report.Notes));
    }

    private static IPEndPoint Target(BenchNode node) => new(IPAddress.Loopback, node.Udp);
}
