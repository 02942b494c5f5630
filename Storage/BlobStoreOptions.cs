namespace PeerPatch.Storage;

/// <summary>Blob store settings.</summary>
public sealed record BlobStoreOptions
{
    /// <summary>Size cap in bytes; least recently used blobs are evicted above it. 0 = no cap. Default 0.</summary>
    public long CapacityBytes { get; init; }

    /// <summary>Bytes of free disk to leave when accepting a blob of known size. Default 64 MiB.</summary>
    public long ReserveFreeBytes { get; init; } = 64L << 20;

    /// <summary>Copy buffer size. Default 128 KiB.</summary>
    public int BufferBytes { get; init; } = 128 * 1024;
}
