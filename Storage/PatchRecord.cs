namespace PeerPatch.Storage;

/// <summary>One row of the patch database.</summary>
public sealed record PatchRecord(
    string OsVersion,
    string PatchName,
    string Sha256,
    long Size,
    string? UpstreamUrl,
    DateTimeOffset AddedAt,
    string AddedBy,
    long Hits,
    DateTimeOffset? LastHit);
