using Microsoft.Data.Sqlite;

namespace PeerPatch.Storage;

public sealed partial class PatchDatabase
{
    /// <summary>Replaces a node's compliance record and its patch states (one transaction).</summary>
    public void SaveComplianceNode(ComplianceNodeRow node)
    {
        using var connection = Connect();
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO compliance_nodes (node_id, hostname, ring, os_version, pass_id, reported_at, last_seen)
                VALUES ($id, $host, $ring, $os, $pass, $reported, $seen)
                ON CONFLICT (node_id) DO UPDATE SET hostname = excluded.hostname, ring = excluded.ring,
                    os_version = excluded.os_version, pass_id = excluded.pass_id, reported_at = excluded.reported_at,
                    last_seen = excluded.last_seen;
                DELETE FROM compliance_patches WHERE node_id = $id;
                """;
            command.Parameters.AddWithValue("$id", node.NodeId);
            command.Parameters.AddWithValue("$host", node.Hostname);
            command.Parameters.AddWithValue("$ring", (object?)node.Ring ?? DBNull.Value);
            command.Parameters.AddWithValue("$os", node.OsVersion);
            command.Parameters.AddWithValue("$pass", (object?)node.PassId ?? DBNull.Value);
            command.Parameters.AddWithValue("$reported", node.ReportedAt is { } r ? ToUnixMs(r) : DBNull.Value);
            command.Parameters.AddWithValue("$seen", ToUnixMs(node.LastSeen));
            command.ExecuteNonQuery();
        }

        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO compliance_patches (node_id, patch_name, state, detail, since) VALUES ($id, $name, $state, $detail, $since);";
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var name = insert.Parameters.Add("$name", SqliteType.Text);
            var state = insert.Parameters.Add("$state", SqliteType.Text);
            var detail = insert.Parameters.Add("$detail", SqliteType.Text);
            var since = insert.Parameters.Add("$since", SqliteType.Integer);
            foreach (var p in node.Patches)
            {
                id.Value = node.NodeId;
                name.Value = p.PatchName;
                state.Value = p.State;
                detail.Value = (object?)p.Detail ?? DBNull.Value;
                since.Value = ToUnixMs(p.Since);
                insert.ExecuteNonQuery();
            }
        }

        transaction.Commit();
    }

    /// <summary>Moves a node's last-seen time (a report that changed nothing else).</summary>
    public void TouchComplianceNode(string nodeId, DateTimeOffset lastSeen)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE compliance_nodes SET last_seen = $seen WHERE node_id = $id;";
        command.Parameters.AddWithValue("$id", nodeId);
        command.Parameters.AddWithValue("$seen", ToUnixMs(lastSeen));
        command.ExecuteNonQuery();
    }

    /// <summary>Forgets a node's compliance record.</summary>
    public void DeleteComplianceNode(string nodeId)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM compliance_nodes WHERE node_id = $id;";
        command.Parameters.AddWithValue("$id", nodeId);
        command.ExecuteNonQuery();
    }

    /// <summary>Every node's compliance record with its patch states.</summary>
    public IReadOnlyList<ComplianceNodeRow> LoadCompliance()
    {
        using var connection = Connect();
        var patches = new Dictionary<string, List<CompliancePatchRow>>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT node_id, patch_name, state, detail, since FROM compliance_patches;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetString(0);
                if (!patches.TryGetValue(id, out var list))
                {
                    patches[id] = list = [];
                }

                list.Add(new CompliancePatchRow(reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), FromUnixMs(reader.GetInt64(4))));
            }
        }

        var nodes = new List<ComplianceNodeRow>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT node_id, hostname, ring, os_version, pass_id, reported_at, last_seen FROM compliance_nodes;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetString(0);
                nodes.Add(new ComplianceNodeRow(
                    id,
                    reader.GetString(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : FromUnixMs(reader.GetInt64(5)),
                    FromUnixMs(reader.GetInt64(6)),
                    patches.TryGetValue(id, out var list) ? list : []));
            }
        }

        return nodes;
    }
}
