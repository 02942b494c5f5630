namespace PeerPatch.Storage;

/// <summary>The policy versions this node accepted as the LAN server (migration 0003).</summary>
public sealed partial class PatchDatabase
{
    /// <summary>Most policy versions kept (older ones are dropped when a new one is stored).</summary>
    public const int PolicyVersionsKept = 50;

    /// <summary>
    /// Stores a policy version (replacing another copy of that version: two servers that each stored it after a
    /// failover, the node keeps the copy that takes precedence) and drops old ones.
    /// </summary>
    public void SavePolicy(long version, string envelope, string? seal, DateTimeOffset storedAt)
    {
        using var connection = Connect();
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "INSERT OR REPLACE INTO policy (version, envelope, seal, stored_at) VALUES ($v, $e, $s, $t);";
            command.Parameters.AddWithValue("$v", version);
            command.Parameters.AddWithValue("$e", envelope);
            command.Parameters.AddWithValue("$s", (object?)seal ?? DBNull.Value);
            command.Parameters.AddWithValue("$t", ToUnixMs(storedAt));
            command.ExecuteNonQuery();
        }

        using (var prune = connection.CreateCommand())
        {
            prune.Transaction = transaction;
            prune.CommandText = "DELETE FROM policy WHERE version NOT IN (SELECT version FROM policy ORDER BY version DESC LIMIT $n);";
            prune.Parameters.AddWithValue("$n", PolicyVersionsKept);
            prune.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>The newest stored policy version, or null when none was ever stored.</summary>
    public (long Version, string Envelope, string? Seal)? LoadPolicy()
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, envelope, seal FROM policy ORDER BY version DESC LIMIT 1;";
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)) : null;
    }
}
