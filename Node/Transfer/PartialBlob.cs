using Microsoft.Win32.SafeHandles;
using PeerPatch.Protocol.Http;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// A blob this node is still fetching by pieces: its temp file, its piece list and which pieces were verified so
/// far. Others may read the verified pieces (serve while receiving); a verified piece is never written again.
/// </summary>
internal sealed class PartialBlob(PieceList pieces, string tempPath)
{
    private readonly int[] _verified = new int[pieces.Pieces.Count];

    public string Sha256 => Pieces.Sha256;

    public long Size => Pieces.Size;

    public PieceList Pieces { get; } = pieces;

    public string TempPath { get; } = tempPath;

    /// <summary>Pieces verified so far.</summary>
    public int VerifiedCount => _verified.Count(v => v != 0);

    public void MarkVerified(int piece) => Volatile.Write(ref _verified[piece], 1);

    public bool IsVerified(int piece) => Volatile.Read(ref _verified[piece]) != 0;

    /// <summary>The verified pieces as a <see cref="PieceBitfield"/> (null for a blob of too many pieces).</summary>
    public string? Held() => PieceBitfield.Format(_verified.Length, IsVerified);

    /// <summary>True when bytes <paramref name="from"/>..<paramref name="to"/> (inclusive) all lie in verified pieces.</summary>
    public bool Covers(long from, long to)
    {
        if (from < 0 || to < from || to >= Size)
        {
            return false;
        }

        for (var piece = (int)(from / Pieces.PieceSize); piece <= (int)(to / Pieces.PieceSize); piece++)
        {
            if (!IsVerified(piece))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Opens the temp file for reading; null when it is gone already (the fetch ended: committed or failed).</summary>
    public SafeFileHandle? TryOpen()
    {
        try
        {
            return File.OpenHandle(TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
