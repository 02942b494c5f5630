namespace PeerPatch.Node.Sources;

/// <summary>A list of patches this OS needs, read from upstream.</summary>
internal interface IPatchSource
{
    /// <summary>For logs: where the list comes from.</summary>
    string Description { get; }

    /// <summary>Reads the list. Throws <see cref="PatchSourceException"/> with a readable reason when it cannot.</summary>
    Task<IReadOnlyList<PatchSpec>> GetPatchesAsync(string osVersion, CancellationToken ct);
}

/// <summary>A patch list could not be read or was invalid.</summary>
internal sealed class PatchSourceException(string message, Exception? inner = null) : Exception(message, inner);
