namespace PeerPatch.Storage;

/// <summary>What the start-up consistency pass found and repaired.</summary>
public sealed record StartupReport(int TempFilesRemoved, int MissingOrWrongBlobsDropped, int OrphanFilesRemoved, int PatchRowsDropped, int BlobsKept, long BytesKept);
