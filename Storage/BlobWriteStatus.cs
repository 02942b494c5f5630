namespace PeerPatch.Storage;

/// <summary>How a blob write ended. Everything but Stored and AlreadyPresent left nothing behind.</summary>
public enum BlobWriteStatus
{
    /// <summary>Verified, fsynced, renamed into place and recorded.</summary>
    Stored,

    /// <summary>The store already held these bytes; the new copy was discarded.</summary>
    AlreadyPresent,

    /// <summary>The bytes do not hash to the expected SHA-256.</summary>
    HashMismatch,

    /// <summary>More bytes arrived than the declared size or the limit.</summary>
    TooLarge,

    /// <summary>Fewer bytes arrived than declared.</summary>
    SizeMismatch,

    /// <summary>Reading the source failed (network error, timeout).</summary>
    SourceFailed,

    /// <summary>Writing to disk failed (disk full, I/O error).</summary>
    StorageFailed,
}
