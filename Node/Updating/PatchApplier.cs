using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Updating;

/// <summary>
/// Applies a verified patch by running the upstream list's command ("{file}" in its arguments becomes the
/// blob's path; no shell unless the list names one), through <see cref="InstallRunner"/>: exit code 0 means applied;
/// output is logged and its tail kept for the error message; a command over its time limit is killed with its
/// children. A cancelled pass does not kill a running apply command: it finishes (within its limit), and the pass
/// stops after it. One apply at a time on this PC, across node restarts, and an apply outlives the node (Linux).
/// </summary>
internal sealed class PatchApplier(SourcesOptions sources, InstallRunner runner) : IPatchApplier
{
    public async Task<(bool Ok, string? Error)> ApplyAsync(PatchSpec patch, string file, CancellationToken ct)
    {
        var limit = patch.Apply.Timeout ?? sources.ApplyTimeout;
        var wait = limit > sources.ApplyTimeout ? limit : sources.ApplyTimeout;
        var args = patch.Apply.Args.Select(arg => arg.Replace("{file}", file, StringComparison.Ordinal)).ToArray();
        var environment = new Dictionary<string, string>
        {
            ["PEERPATCH_PATCH"] = patch.Name,
            ["PEERPATCH_SHA256"] = patch.Sha256,
            ["PEERPATCH_OS"] = patch.OsVersion,
        };
        var result = await runner.RunAsync(patch.Name, patch.Apply.Command, args, environment, limit, wait, ct).ConfigureAwait(false);
        return (result.Ok, result.Ok ? null : $"apply command {result.Error}");
    }
}
