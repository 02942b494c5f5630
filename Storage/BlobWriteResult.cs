namespace PeerPatch.Storage;

/// <summary>The outcome of a blob write: a status, the bytes seen, the hash computed and a readable reason.</summary>
public sealed record BlobWriteResult(BlobWriteStatus Status, long Bytes, string? ActualSha256, string? Message)
{
    /// <summary>True when the blob is in the store now.</summary>
    public bool Succeeded => Status is BlobWriteStatus.Stored or BlobWriteStatus.AlreadyPresent;
}
