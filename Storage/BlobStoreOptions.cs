namespace PeerPatch.Storage;

/// <summary>Blob store settings.</summary>
public sealed record BlobStoreOptions
{
    /// <summary>Size cap in bytes; least recently used blobs are evicted above it. 0 = no cap. Default 0.</summary>
    public long CapacityBytes { get; init; }

    /// <summary>
    /// Bytes of free disk to leave when accepting a blob of known size. Default 64 MiB. On a small disk the reserve is
    /// capped at <see cref="ReserveMaxPercent"/> of the disk (see <see cref="ReserveFor"/>).
    /// </summary>
    public long ReserveFreeBytes { get; init; } = 64L << 20;

    /// <summary>The most of the disk's size the reserve may take, in percent (0-100). Default 10.</summary>
    public int ReserveMaxPercent { get; init; } = 10;

    /// <summary>
    /// The free bytes to keep on a file system of <paramref name="diskTotalBytes"/>: min(<see cref="ReserveFreeBytes"/>,
    /// <see cref="ReserveMaxPercent"/> % of the disk). 64 MiB on any disk of 640 MiB and more; 6.4 MiB on a 64 MiB
    /// disk, where a reserve of 64 MiB would refuse everything. An unknown size (0 or less) keeps the configured reserve.
    /// </summary>
    public long ReserveFor(long diskTotalBytes)
    {
        if (diskTotalBytes <= 0)
        {
            return Math.Max(0, ReserveFreeBytes);
        }

        var fraction = (long)(diskTotalBytes * (Math.Clamp(ReserveMaxPercent, 0, 100) / 100.0));
        return Math.Max(0, Math.Min(ReserveFreeBytes, fraction));
    }

    /// <summary>
    /// Bytes per piece of a blob's piece hashes (computed while a blob is written; lazily for older blobs). Default 1 MiB
    /// (the LAN protocol's <c>PieceList.DefaultPieceSize</c>; Storage does not reference Protocol).
    /// </summary>
    public int PieceSize { get; init; } = 1 << 20;

    /// <summary>Copy buffer size. Default 128 KiB.</summary>
    public int BufferBytes { get; init; } = 128 * 1024;
}
