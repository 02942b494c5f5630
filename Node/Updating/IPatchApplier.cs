using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Updating;

/// <summary>Applies a verified patch with the upstream list's command (<see cref="PatchApplier"/>).</summary>
internal interface IPatchApplier
{
    /// <summary>Ok, or why not (the command failed, timed out or could not start).</summary>
    Task<(bool Ok, string? Error)> ApplyAsync(PatchSpec patch, string file, CancellationToken ct);
}
