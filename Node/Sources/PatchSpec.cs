namespace PeerPatch.Node.Sources;

/// <summary>One patch as the upstream list gives it: the only authority for its hash, size and how to apply it.</summary>
/// <param name="Unverifiable">
/// Set when the source lists a patch it cannot give a trustworthy SHA-256 for (then <see cref="Sha256"/> is empty):
/// why. Such a patch is never fetched; the pass counts it failed with this reason.
/// </param>
internal sealed record PatchSpec(string OsVersion, string Name, Uri Url, string Sha256, long Size, ApplySpec Apply, string? Unverifiable = null);

/// <summary>How to apply a patch: a command, its arguments ("{file}" is replaced by the verified file's path) and a time limit.</summary>
/// <param name="Stages">True when the command only stages the file (e.g. hands a .deb to apt's cache): it runs in a dry run too.</param>
internal sealed record ApplySpec(string Command, IReadOnlyList<string> Args, TimeSpan? Timeout, bool Stages = false);
