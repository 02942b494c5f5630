using System.Diagnostics;

namespace PeerPatch.Bench;

/// <summary>
/// Footprint (issue 15): the shipped Native AOT build against the self-contained single-file ReadyToRun build it
/// replaced, published here from the same code with the old publish profile's settings. Per build: the .deb
/// (tools/package/build-deb.sh on that build's executables), exec to the first /v1/status answer, the RSS of a fresh
/// node after 10 s idle, its CPU time and wake-ups over the next 20 s idle, and its peak RSS while curl fetches a 1 GiB
/// patch from it.
/// </summary>
internal static class FootprintBench
{
    /// <summary>One build: where its executables are, and its package's size.</summary>
    public sealed record Build(string Name, string Dir, long DebBytes)
    {
        public string Node => Path.Combine(Dir, "peerpatch");
    }

    /// <summary>One fresh node of a build.</summary>
    /// <param name="Start">Exec to the first 200 answer to GET /v1/status.</param>
    /// <param name="IdleRss">RSS 10 s after that answer, nothing asked of it.</param>
    /// <param name="IdleCpu">CPU time (user + system) over the <see cref="IdleWindow"/> after that, still idle.</param>
    /// <param name="IdleWakeups">Context switches of all its threads over the same window.</param>
    /// <param name="BeforeServing">RSS after the 1 GiB push, before the fetch.</param>
    /// <param name="PeakServing">Peak RSS while curl fetches the 1 GiB blob.</param>
    public sealed record Result(TimeSpan Start, long IdleRss, double IdleCpu, long IdleWakeups, long BeforeServing, long PeakServing);

    /// <summary>How long idle CPU and wake-ups are counted: /proc counts CPU in 10 ms ticks, so long enough for a few.</summary>
    public static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(20);

    /// <summary>The shipped build: artifacts/publish/linux-x64 (run.sh published it), packed into a .deb of its own.</summary>
    public static async Task<Build> ShippedAsync(string repo, string work) =>
        new("Native AOT", Path.Combine(repo, "artifacts", "publish", "linux-x64"), await DebAsync(repo, Path.Combine(repo, "artifacts", "publish", "linux-x64"), Path.Combine(work, "deb-aot")));

    /// <summary>
    /// The build that shipped before issue 15: self-contained single file (native libraries inside), the node
    /// ReadyToRun, as the linux-x64 publish profiles had it; published into <paramref name="work"/>.
    /// </summary>
    public static async Task<Build> ReadyToRunAsync(string repo, string work)
    {
        var dir = await PublishReadyToRunAsync(repo, work);
        return new Build("single-file ReadyToRun", dir, await DebAsync(repo, dir, Path.Combine(work, "deb-r2r")));
    }

    /// <summary>
    /// Publishes the ReadyToRun single-file executables into <paramref name="work"/>/r2r; or, when
    /// PEERPATCH_BENCH_R2R_DIR names a directory that holds a peerpatch executable, uses that one (published
    /// earlier with the same settings: minutes saved while tuning).
    /// </summary>
    public static async Task<string> PublishReadyToRunAsync(string repo, string work)
    {
        if (Environment.GetEnvironmentVariable("PEERPATCH_BENCH_R2R_DIR") is { Length: > 0 } published && File.Exists(Path.Combine(published, "peerpatch")))
        {
            return published;
        }

        var dir = Path.Combine(work, "r2r");
        foreach (var (project, r2r) in new[] { ("Node", true), ("tools/Diag", false) })
        {
            var (code, output, error) = await Proc.RunAsync(
                "dotnet", "publish", Path.Combine(repo, project), "-c", "Release", "-r", "linux-x64", "--self-contained", "-nologo", "-clp:ErrorsOnly",
                "-p:PublishSingleFile=true", "-p:IncludeNativeLibrariesForSelfExtract=true", $"-p:PublishReadyToRun={(r2r ? "true" : "false")}", "-p:PublishAot=false",
                "-p:DebugType=none", "-o", dir);
            if (code != 0)
            {
                throw new InvalidOperationException($"publish of {project} (ReadyToRun single file) failed: {output}{error}");
            }
        }

        foreach (var pdb in Directory.GetFiles(dir, "*.pdb"))
        {
            File.Delete(pdb);
        }

        return dir;
    }

    /// <summary>Starts a fresh node of <paramref name="build"/>, measures it, and stops it.</summary>
    public static async Task<Result> MeasureAsync(Build build, string dataDir, (string Path, string Sha) big)
    {
        var node = await BenchNode.StartExecutableAsync(build.Node, dataDir);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(10));
            var idle = Proc.Rss(node.Process.Id);
            var (cpu, switches) = (Proc.CpuSeconds(node.Process.Id), Proc.ContextSwitches(node.Process.Id));
            await Task.Delay(IdleWindow);
            var (idleCpu, wakeups) = (Proc.CpuSeconds(node.Process.Id) - cpu, Proc.ContextSwitches(node.Process.Id) - switches);
            await node.PushAsync(big.Path, big.Sha, "KB-1G");
            await Task.Delay(TimeSpan.FromSeconds(2));
            var before = Proc.Rss(node.Process.Id);
            long peak;
            using (var sampler = RssSampler.Start(node.Process.Id))
            {
                await Curl.GetAsync(new Uri(node.BaseUri, $"v1/blobs/{big.Sha}"));
                peak = sampler.Peak;
            }

            return new Result(node.FirstAnswer, idle, idleCpu, wakeups, before, peak);
        }
        finally
        {
            node.Process.Kill();
            await node.Process.WaitForExitAsync();
        }
    }

    /// <summary>Packs <paramref name="publishDir"/>'s executables with tools/package/build-deb.sh into <paramref name="outDir"/>.</summary>
    private static async Task<long> DebAsync(string repo, string publishDir, string outDir)
    {
        var psi = new ProcessStartInfo(Path.Combine(repo, "tools", "package", "build-deb.sh")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["PEERPATCH_NO_PUBLISH"] = "1";
        psi.Environment["PEERPATCH_PUBLISH_DIR"] = publishDir;
        psi.Environment["PEERPATCH_DEB_DIR"] = outDir;
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var deb = (await output).Trim().Split('\n')[^1];
        if (process.ExitCode != 0 || !File.Exists(deb))
        {
            throw new InvalidOperationException($"build-deb.sh for {publishDir} failed: {await output}{await error}");
        }

        return new FileInfo(deb).Length;
    }
}
