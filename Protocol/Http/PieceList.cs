using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Http;

/// <summary>
/// The piece hashes of a stored blob (GET <see cref="BlobUrl.PiecesOf"/>): SHA-256 of each fixed-size piece, the
/// last one shorter. They only let a client find a peer that sends bad bytes early; the upstream list's SHA-256 of
/// the whole file stays the only authority.
/// </summary>
/// <param name="Sha256">The whole blob's SHA-256.</param>
/// <param name="Size">The whole blob's size in bytes.</param>
/// <param name="PieceSize">Bytes per piece (the last piece holds the rest).</param>
/// <param name="Pieces">Lowercase hex SHA-256 of each piece, in order: ceil(Size / PieceSize) of them (none for an empty blob).</param>
public sealed record PieceList(
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("pieceSize")] int PieceSize,
    [property: JsonPropertyName("pieces")] IReadOnlyList<string> Pieces)
{
    /// <summary>Smallest piece size a node accepts (64 KiB).</summary>
    public const int MinPieceSize = 1 << 16;

    /// <summary>Largest piece size a node accepts (64 MiB).</summary>
    public const int MaxPieceSize = 1 << 26;

    /// <summary>
    /// The piece size a server uses (1 MiB): small enough that a typical patch of a few MiB is several pieces, so a
    /// node passes on its first verified pieces while the rest arrive (with 4 MiB, a 4 MB patch was one piece and
    /// every hop of the swarm waited for the whole file); a 2 GiB patch is 2048 pieces, a list of about 140 KB.
    /// </summary>
    public const int DefaultPieceSize = 1 << 20;

    /// <summary>How many pieces a blob of <paramref name="size"/> bytes has.</summary>
    public static int CountFor(long size, int pieceSize) => (int)((size + pieceSize - 1) / pieceSize);

    /// <summary>A piece size within the limits, the right number of well-formed hashes, for the given blob.</summary>
    public bool IsValidFor(string sha256, long size) =>
        Sha256 == sha256 && Size == size && PieceSize is >= MinPieceSize and <= MaxPieceSize
        && Pieces is not null && Pieces.Count == CountFor(size, PieceSize) && Pieces.All(WireFormat.IsSha256);
}
