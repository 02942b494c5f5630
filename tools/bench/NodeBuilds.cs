namespace PeerPatch.Bench;

/// <summary>
/// Which build of the node a fleet scenario runs: "aot" (the shipped Native AOT executable, artifacts/publish/linux-x64,
/// published by run.sh) or "r2r" (the single-file ReadyToRun build that shipped before issue 15, published from the
/// same code by FootprintBench, or taken from PEERPATCH_BENCH_R2R_DIR). Picked with PEERPATCH_BENCH_BUILD (a
/// comma-separated list where a scenario compares builds).
/// </summary>
internal static class NodeBuilds
{
    public sealed record Build(string Name, string Executable);

    /// <summary>The builds PEERPATCH_BENCH_BUILD names, or <paramref name="defaults"/> when it is not set.</summary>
    public static async Task<List<Build>> ResolveAsync(string repo, string work, string defaults)
    {
        var builds = new List<Build>();
        foreach (var name in (Environment.GetEnvironmentVariable("PEERPATCH_BENCH_BUILD") is { Length: > 0 } set ? set : defaults).Split(','))
        {
            builds.Add(name.Trim() switch
            {
                "aot" => new Build("Native AOT", BenchNode.Executable(repo)),
                "r2r" => new Build("single-file ReadyToRun", Path.Combine(await FootprintBench.PublishReadyToRunAsync(repo, work), "peerpatch")),
                var other => throw new ArgumentException($"PEERPATCH_BENCH_BUILD: unknown build '{other}' (aot, r2r)"),
            });
        }

        return builds;
    }
}
