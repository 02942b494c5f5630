using Microsoft.Data.Sqlite;

namespace PeerPatch.Storage;

public sealed partial class PatchDatabase
{
    /// <summary>Adds a patch row; an existing row for the same key keeps its history (added_at, hits).</summary>
    public void AddPatch(PatchRecord record)
    {
        using var connection = Connect();
        InsertPatch(connection, null, record);
    }

    private static void InsertPatch(Microsoft.Data.Sqlite.SqliteConnection connection, SqliteTransaction? transaction, PatchRecord record)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO patches (os_version, patch_name, sha256, size, upstream_url, added_at, added_by, hits, last_hit)
            VALUES ($os, $name, $sha, $size, $url, $at, $by, $hits, $last)
            ON CONFLICT (os_version, patch_name, sha256) DO NOTHING;
            """;
        command.Parameters.AddWithValue("$os", record.OsVersion);
        command.Parameters.AddWithValue("$name", record.PatchName);
        command.Parameters.AddWithValue("$sha", record.Sha256);
        command.Parameters.AddWithValue("$size", record.Size);
        command.Parameters.AddWithValue("$url", (object?)record.UpstreamUrl ?? DBNull.Value);
        command.Parameters.AddWithValue("$at", ToUnixMs(record.AddedAt));
        command.Parameters.AddWithValue("$by", record.AddedBy);
        command.Parameters.AddWithValue("$hits", record.Hits);
        command.Parameters.AddWithValue("$last", record.LastHit is { } last ? ToUnixMs(last) : DBNull.Value);
        command.ExecuteNonQuery();
    }

    /// <summary>All patch rows, or those of one OS version, ordered by OS and name.</summary>
    public IReadOnlyList<PatchRecord> ListPatches(string? osVersion = null)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = osVersion is null
            ? "SELECT os_version, patch_name, sha256, size, upstream_url, added_at, added_by, hits, last_hit FROM patches ORDER BY os_version, patch_name;"
            : "SELECT os_version, patch_name, sha256, size, upstream_url, added_at, added_by, hits, last_hit FROM patches WHERE os_version = $os ORDER BY patch_name;";
        if (osVersion is not null)
        {
            command.Parameters.AddWithValue("$os", osVersion);
        }

        using var reader = command.ExecuteReader();
        var list = new List<PatchRecord>();
        while (reader.Read())
        {
            list.Add(new PatchRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetInt64(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                FromUnixMs(reader.GetInt64(5)),
                reader.GetString(6),
                reader.GetInt64(7),
                reader.IsDBNull(8) ? null : FromUnixMs(reader.GetInt64(8))));
        }

        return list;
    }

    /// <summary>Adds batched hit counts in one transaction.</summary>
    public void AddHits(IReadOnlyCollection<HitCount> hits)
    {
        if (hits.Count == 0)
        {
            return;
        }

        using var connection = Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE patches SET hits = hits + $n, last_hit = MAX(COALESCE(last_hit, 0), $at)
            WHERE os_version = $os AND patch_name = $name AND sha256 = $sha;
            """;
        var n = command.Parameters.Add("$n", SqliteType.Integer);
        var at = command.Parameters.Add("$at", SqliteType.Integer);
        var os = command.Parameters.Add("$os", SqliteType.Text);
        var name = command.Parameters.Add("$name", SqliteType.Text);
        var sha = command.Parameters.Add("$sha", SqliteType.Text);
        foreach (var hit in hits)
        {
            n.Value = hit.Count;
            at.Value = ToUnixMs(hit.LastHit);
            os.Value = hit.OsVersion;
            name.Value = hit.PatchName;
            sha.Value = hit.Sha256;
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>True when this node has applied that exact patch.</summary>
    public bool IsApplied(string osVersion, string patchName, string sha256)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM applied WHERE os_version = $os AND patch_name = $name AND sha256 = $sha;";
        command.Parameters.AddWithValue("$os", osVersion);
        command.Parameters.AddWithValue("$name", patchName);
        command.Parameters.AddWithValue("$sha", sha256);
        return command.ExecuteScalar() is not null;
    }

    /// <summary>Records that this node applied a patch.</summary>
    public void MarkApplied(string osVersion, string patchName, string sha256, DateTimeOffset at)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT OR REPLACE INTO applied (os_version, patch_name, sha256, applied_at) VALUES ($os, $name, $sha, $at);";
        command.Parameters.AddWithValue("$os", osVersion);
        command.Parameters.AddWithValue("$name", patchName);
        command.Parameters.AddWithValue("$sha", sha256);
        command.Parameters.AddWithValue("$at", ToUnixMs(at));
        command.ExecuteNonQuery();
    }

    /// <summary>Number of patch rows.</summary>
    public long CountPatches()
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM patches;";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
