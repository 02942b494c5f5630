namespace PeerPatch.Storage;

/// <summary>
/// What the start-up consistency pass found and repaired. <paramref name="RowsLeftOnFullDisk"/>: deletes the database
/// could not record because the disk had no room (their files are gone; the rows go at the next start).
/// </summary>
public sealed record StartupReport(int TempFilesRemoved, int MissingOrWrongBlobsDropped, int OrphanFilesRemoved, int PatchRowsDropped, int BlobsKept, long BytesKept, int RowsLeftOnFullDisk = 0);
