namespace PeerPatch.Protocol.Status;

/// <summary>GET /v1/patches: one row of a node's patch database (on the server, the LAN's authoritative one).</summary>
/// <param name="BlobUrl">Where the node serves the file: /v1/blobs/{sha256}.</param>
public sealed record PatchEntry(string Os, string Name, string Sha256, long Size, string? UpstreamUrl, DateTimeOffset AddedAt, string AddedBy, long Hits, DateTimeOffset? LastHit, string BlobUrl);
