namespace PeerPatch.Storage;

public sealed partial class PatchDatabase
{
    /// <summary>The piece hashes recorded for a blob at that piece size, or null.</summary>
    public byte[]? GetPieces(string sha256, int pieceSize)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT hashes FROM blob_pieces WHERE sha256 = $sha AND piece_size = $size;";
        command.Parameters.AddWithValue("$sha", sha256);
        command.Parameters.AddWithValue("$size", pieceSize);
        return command.ExecuteScalar() as byte[];
    }

    /// <summary>Records a held blob's piece hashes (a blob stored before they were kept); nothing when the blob is gone.</summary>
    public void SetPieces(string sha256, int pieceSize, byte[] hashes)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO blob_pieces (sha256, piece_size, hashes)
            SELECT $sha, $size, $hashes WHERE EXISTS (SELECT 1 FROM blobs WHERE sha256 = $sha)
            ON CONFLICT (sha256) DO UPDATE SET piece_size = excluded.piece_size, hashes = excluded.hashes;
            """;
        command.Parameters.AddWithValue("$sha", sha256);
        command.Parameters.AddWithValue("$size", pieceSize);
        command.Parameters.AddWithValue("$hashes", hashes);
        command.ExecuteNonQuery();
    }

    private static void InsertPieces(Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction transaction, string sha256, int pieceSize, byte[] hashes)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO blob_pieces (sha256, piece_size, hashes) VALUES ($sha, $size, $hashes)
            ON CONFLICT (sha256) DO UPDATE SET piece_size = excluded.piece_size, hashes = excluded.hashes;
            """;
        command.Parameters.AddWithValue("$sha", sha256);
        command.Parameters.AddWithValue("$size", pieceSize);
        command.Parameters.AddWithValue("$hashes", hashes);
        command.ExecuteNonQuery();
    }
}
