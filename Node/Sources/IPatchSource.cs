using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Sources;

/// <summary>A list of patches this OS needs, read from upstream.</summary>
internal interface IPatchSource
{
    /// <summary>For logs: where the list comes from.</summary>
    string Description { get; }

    /// <summary>Reads the list. Throws <see cref="PatchSourceException"/> with a readable reason when it cannot.</summary>
    Task<IReadOnlyList<PatchSpec>> GetPatchesAsync(string osVersion, CancellationToken ct);

    /// <summary>
    /// After every patch of this source went through the pass: a last step for the whole batch (apt installs what was
    /// staged). Returns an error to report, or null. Default: nothing.
    /// </summary>
    Task<string?> CompletePassAsync(IReadOnlyList<PatchOutcome> outcomes, bool dryRun, CancellationToken ct) => Task.FromResult<string?>(null);

    /// <summary>
    /// After <see cref="CompletePassAsync"/> succeeded: which of the patches it was given as applied (staged) are still
    /// not in place, each with why (apt kept one back). Default: none.
    /// </summary>
    Task<IReadOnlyDictionary<string, string>> NotInstalledAsync(IReadOnlyList<PatchOutcome> staged, CancellationToken ct) =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>());
}

/// <summary>A patch list could not be read or was invalid.</summary>
internal sealed class PatchSourceException(string message, Exception? inner = null) : Exception(message, inner);
