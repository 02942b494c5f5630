namespace PeerPatch.Storage;

public sealed partial class PatchDatabase
{
    /// <summary>Records a blob that was just renamed into place (and, optionally, the patch row it belongs to) in one transaction.</summary>
    /// <param name="pieces">Optional: the blob's piece hashes (piece size, 32 bytes per piece), recorded in the same transaction.</param>
    public void AddBlob(string sha256, long size, DateTimeOffset now, PatchRecord? patch = null, (int PieceSize, byte[] Hashes)? pieces = null)
    {
        using var connection = Connect();
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO blobs (sha256, size, stored_at, last_access) VALUES ($sha, $size, $now, $now)
                ON CONFLICT (sha256) DO UPDATE SET last_access = excluded.last_access;
                """;
            command.Parameters.AddWithValue("$sha", sha256);
            command.Parameters.AddWithValue("$size", size);
            command.Parameters.AddWithValue("$now", ToUnixMs(now));
            command.ExecuteNonQuery();
        }

        if (patch is not null)
        {
            InsertPatch(connection, transaction, patch);
        }

        if (pieces is { } p)
        {
            InsertPieces(connection, transaction, sha256, p.PieceSize, p.Hashes);
        }

        transaction.Commit();
    }

    /// <summary>Forgets a blob, every patch row that points at it and its piece hashes.</summary>
    public void RemoveBlob(string sha256)
    {
        using var connection = Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM patches WHERE sha256 = $sha; DELETE FROM blob_pieces WHERE sha256 = $sha; DELETE FROM blobs WHERE sha256 = $sha;";
        command.Parameters.AddWithValue("$sha", sha256);
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    /// <summary>Every blob row.</summary>
    public IReadOnlyList<BlobRow> ListBlobs()
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sha256, size, stored_at, last_access FROM blobs;";
        using var reader = command.ExecuteReader();
        var list = new List<BlobRow>();
        while (reader.Read())
        {
            list.Add(new BlobRow(reader.GetString(0), reader.GetInt64(1), FromUnixMs(reader.GetInt64(2)), FromUnixMs(reader.GetInt64(3))));
        }

        return list;
    }

    /// <summary>Moves a blob's last access forward (LRU order).</summary>
    public void TouchBlob(string sha256, DateTimeOffset at)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE blobs SET last_access = MAX(last_access, $at) WHERE sha256 = $sha;";
        command.Parameters.AddWithValue("$sha", sha256);
        command.Parameters.AddWithValue("$at", ToUnixMs(at));
        command.ExecuteNonQuery();
    }

    /// <summary>Deletes patch rows (and piece hashes) whose blob is gone (start-up consistency pass). Returns how many patch rows.</summary>
    public int RemovePatchesWithoutBlob()
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        Execute(connection, "DELETE FROM blob_pieces WHERE sha256 NOT IN (SELECT sha256 FROM blobs);");
        command.CommandText = "DELETE FROM patches WHERE sha256 NOT IN (SELECT sha256 FROM blobs);";
        return command.ExecuteNonQuery();
    }
}
