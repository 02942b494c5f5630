namespace PeerPatch.Protocol.Status;

/// <summary>
/// A node's last update pass, as GET /v1/status reports it ("lastPass"; null before the first pass), so that
/// peerpatch-diag and the dashboard show which PC failed what. <see cref="Failures"/> holds at most
/// <see cref="MaxFailures"/> lines "patch: error" (or "source: error"), each at most <see cref="MaxFailureChars"/>
/// characters, escaped by the node (untrusted text from feeds and apt).
/// </summary>
/// <param name="Failed">Failed patches, sources that could not be read, and a pass stopped at its deadline.</param>
/// <param name="Stopped">Why the pass ended early (its deadline), or null.</param>
public sealed record PassStatus(
    string PassId,
    DateTimeOffset EndedAt,
    bool DryRun,
    int Applied,
    int Ready,
    int Failed,
    int AlreadyApplied,
    string? Stopped,
    IReadOnlyList<string> Failures)
{
    public const int MaxFailures = 20;
    public const int MaxFailureChars = 300;
}
