namespace PeerPatch.Storage;

/// <summary>Hits to add to one patch row (batched by the server).</summary>
public readonly record struct HitCount(string OsVersion, string PatchName, string Sha256, long Count, DateTimeOffset LastHit);
