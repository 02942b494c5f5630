namespace PeerPatch.Storage;

/// <summary>A stored blob's piece hashes: <see cref="Hashes"/> holds 32 bytes per piece of <see cref="PieceSize"/> bytes, in order.</summary>
public sealed record BlobPieces(string Sha256, long Size, int PieceSize, byte[] Hashes)
{
    /// <summary>How many pieces.</summary>
    public int Count => Hashes.Length / 32;

    /// <summary>The lowercase hex hash of piece <paramref name="index"/>.</summary>
    public string HexAt(int index) => Convert.ToHexStringLower(Hashes, index * 32, 32);
}
