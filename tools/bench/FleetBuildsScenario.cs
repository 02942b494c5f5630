using System.Globalization;

namespace PeerPatch.Bench;

/// <summary>
/// Issue 15's fleet rerun (scenario fleet-builds): the 20-PC fleet (PEERPATCH_BENCH_PCS: another size) (FleetBench, unshaped PC links, a 20 MB/s uplink)
/// with the Native AOT node and with the single-file ReadyToRun node, interleaved run by run with apt-cacher-ng: time
/// to the last PC against apt-cacher-ng, and CPU seconds per node per pass (/proc/PID/stat of every node, from the
/// moment the pass is asked for to the last PC done). Writes the section between the bench-fleet-builds markers.
/// </summary>
internal static class FleetBuildsScenario
{
    public static async Task RunAsync(string repo, string work, int runs)
    {
        var pcs = int.Parse(Environment.GetEnvironmentVariable("PEERPATCH_BENCH_PCS") ?? "20", CultureInfo.InvariantCulture); // fewer while tuning
        var builds = await NodeBuilds.ResolveAsync(repo, work, "aot,r2r");
        await using var fleet = await FleetBench.CreateAsync(repo, Path.Combine(work, "fleet-builds"), pcs, upstreamMegabytesPerSecond: 20);
        var ours = builds.ToDictionary(b => b.Name, _ => new List<FleetBench.Result>());
        var acng = new List<FleetBench.Result>();
        for (var r = 0; r < runs; r++)
        {
            foreach (var build in builds)
            {
                ours[build.Name].Add(await fleet.PeerPatchAsync(r, pcs, build.Executable, peerServing: null));
                Console.WriteLine($"fleet-builds run {r + 1}, {build.Name}: {ours[build.Name][^1]}");
            }

            acng.Add(await fleet.AptCacherNgAsync(r));
            Console.WriteLine($"fleet-builds run {r + 1}, apt-cacher-ng: {acng[^1]}");
        }

        var report = new Report("bench-fleet-builds");
        var unique = (double)fleet.UniqueBytes;
        foreach (var build in builds)
        {
            var list = ours[build.Name];
            report.Add($"{pcs} PCs, {build.Name}: time until the last PC is done", Stats.Median(list.Select(o => o.Seconds)), Stats.Median(acng.Select(o => o.Seconds)), "s", "apt-cacher-ng", "≤ apt-cacher-ng", (o, a) => o <= a);
            report.Add($"{pcs} PCs, {build.Name}: internet bytes / unique bytes", Stats.Median(list.Select(o => o.InternetBytes / unique)), Stats.Median(acng.Select(o => o.InternetBytes / unique)), "", "apt-cacher-ng");
        }

        if (builds.Count == 2)
        {
            var (after, before) = (ours[builds[0].Name], ours[builds[1].Name]);
            var name = builds[1].Name;
            report.Add($"{pcs} PCs: time until the last PC is done, {builds[0].Name} against {name}", Stats.Median(after.Select(o => o.Seconds)), Stats.Median(before.Select(o => o.Seconds)), "s", name);
            report.Add($"{pcs} PCs: CPU seconds per node per pass (mean of the {pcs} nodes), {builds[0].Name} against {name}", Stats.Median(after.Select(o => o.CpuPerNode)), Stats.Median(before.Select(o => o.CpuPerNode)), "s", name);
            report.Add($"{pcs} PCs: CPU seconds of the server's node per pass, {builds[0].Name} against {name}", Stats.Median(after.Select(o => o.ServerCpu)), Stats.Median(before.Select(o => o.ServerCpu)), "s", name);
        }

        foreach (var (who, list) in builds.Select(b => (b.Name, ours[b.Name])).Append(("apt-cacher-ng", acng)))
        {
            report.Note(string.Create(CultureInfo.InvariantCulture, $"{who}, run by run: ") + string.Join("; ", list.Select((o, i) => $"{i + 1}: {o}")));
        }

        report.Note($"The fleet scenario ({pcs} PCs in network namespaces, 25 patches, {unique / 1e6:0.0} MB, a 20 MB/s tc tbf uplink, PC links not shaped, cold each run); each PeerPatch PC runs one dry-run pass. Builds: {string.Join("; ", builds.Select(b => $"{b.Name} = {b.Executable}"))}. CPU = utime + stime of each node process (/proc/PID/stat) from just before the passes start to the last PC done; start-up and election are not counted. Order in each run: {string.Join(", ", builds.Select(b => b.Name))}, apt-cacher-ng.");
        report.Write(Path.Combine(repo, "docs", "benchmarks.md"), runs, $"tools/bench/run.sh {runs} fleet-builds");
        Console.WriteLine(report.Table());
    }
}
