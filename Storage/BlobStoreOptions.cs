namespace PeerPatch.Storage;

/// <summary>Blob store settings.</summary>
public sealed record BlobStoreOptions
{
    /// <summary>
    /// Fixed size cap in bytes; least recently used blobs are evicted above it. 0 = none: the cap is then
    /// <see cref="CapacityPercent"/> of the room the cache has (see <see cref="CapFor"/>). Default 0.
    /// </summary>
    public long CapacityBytes { get; init; }

    /// <summary>
    /// When <see cref="CapacityBytes"/> is 0: the cap as a share (0-100) of the disk's free space plus the bytes the
    /// store holds, measured again each time it is asked (<see cref="BlobStore.CapacityBytes"/>). 0 with
    /// <see cref="CapacityBytes"/> 0 = no cap. Default 0.
    /// </summary>
    public int CapacityPercent { get; init; }

    /// <summary>
    /// The cap for <paramref name="percent"/> % of the room the cache has: the disk's free bytes plus the bytes it
    /// already holds. Its own blobs count as room, so storing a blob (free goes down, held goes up) or restarting
    /// does not shrink the cap, and a disk that fills with other files shrinks it. Never below 1 byte (0 would mean
    /// no cap): on a disk that is full and a store that holds nothing, only the newest blob is kept until there is
    /// room again, and the cap grows with the room.
    /// </summary>
    public static long CapFor(long freeBytes, long heldBytes, int percent)
    {
        var room = Math.Max(0, freeBytes) + Math.Max(0, heldBytes);
        return Math.Max(1, room / 100 * Math.Clamp(percent, 0, 100));
    }

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

    /// <summary>The free bytes on the file system holding <paramref name="path"/>, and the reserve kept on it (<see cref="ReserveFor"/>).</summary>
    /// <exception cref="IOException">The file system cannot be measured (and the other exceptions of <see cref="DriveInfo"/>).</exception>
    public (long Free, long Reserve) RoomOn(string path)
    {
        var drive = new DriveInfo(path);
        return (drive.AvailableFreeSpace, ReserveFor(drive.TotalSize));
    }

    /// <summary>
    /// Bytes per piece of a blob's piece hashes (computed while a blob is written; lazily for older blobs). Default 1 MiB
    /// (the LAN protocol's <c>PieceList.DefaultPieceSize</c>; Storage does not reference Protocol).
    /// </summary>
    public int PieceSize { get; init; } = 1 << 20;

    /// <summary>Copy buffer size. Default 128 KiB.</summary>
    public int BufferBytes { get; init; } = 128 * 1024;
}
