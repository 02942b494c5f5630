using System.Security.Cryptography;

namespace PeerPatch.Storage;

/// <summary>
/// SHA-256 of each fixed-size piece of a byte stream, fed the same chunks as the whole-file hash (no second read, no
/// piece held in memory: only the running hash state). <see cref="Finish"/> gives the 32-byte hashes concatenated.
/// </summary>
public sealed class PieceHasher : IDisposable
{
    private readonly IncrementalHash _piece = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly MemoryStream _hashes = new();
    private long _inPiece;

    /// <summary>Hashes pieces of <paramref name="pieceSize"/> bytes.</summary>
    public PieceHasher(int pieceSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pieceSize, 1);
        PieceSize = pieceSize;
    }

    /// <summary>Bytes per piece.</summary>
    public int PieceSize { get; }

    /// <summary>Appends bytes, closing a piece at each boundary they cross.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var take = (int)Math.Min(data.Length, PieceSize - _inPiece);
            _piece.AppendData(data[..take]);
            _inPiece += take;
            data = data[take..];
            if (_inPiece == PieceSize)
            {
                ClosePiece();
            }
        }
    }

    /// <summary>The hashes of every piece (the last, partial one included), 32 bytes each; the hasher is done.</summary>
    public byte[] Finish()
    {
        if (_inPiece > 0)
        {
            ClosePiece();
        }

        return _hashes.ToArray();
    }

    /// <summary>Hashes a whole stream (a blob stored before piece hashes were kept).</summary>
    public static async Task<byte[]> HashAsync(Stream source, int pieceSize, int bufferBytes, CancellationToken ct)
    {
        using var hasher = new PieceHasher(pieceSize);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(bufferBytes);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, bufferBytes), ct).ConfigureAwait(false)) > 0)
            {
                hasher.Append(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        return hasher.Finish();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _piece.Dispose();
        _hashes.Dispose();
    }

    private void ClosePiece()
    {
        Span<byte> hash = stackalloc byte[32];
        _piece.GetHashAndReset(hash);
        _hashes.Write(hash);
        _inPiece = 0;
    }
}
