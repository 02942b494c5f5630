namespace PeerPatch.Storage;

/// <summary>One blob known to the database.</summary>
public sealed record BlobRow(string Sha256, long Size, DateTimeOffset StoredAt, DateTimeOffset LastAccess);
