using System.Reflection;
using Microsoft.Data.Sqlite;

namespace PeerPatch.Storage;

/// <summary>
/// The SQLite patch database (WAL, synchronous=FULL so an acknowledged write survives kill -9 and power loss).
/// Schema changes are numbered embedded migrations (Migrations/NNNN_name.sql) tracked in PRAGMA user_version.
/// Every SQL statement of PeerPatch lives in this project. Every connection keeps the -wal and -shm files at close
/// (<see cref="SqliteFileControl.PersistWal"/>), so a restart on a full disk can open the database.
/// </summary>
public sealed partial class PatchDatabase
{
    /// <summary>SQLite reported the disk full (SQLITE_FULL): writes that only keep records in step may wait for room.</summary>
    public static bool IsDiskFull(Microsoft.Data.Sqlite.SqliteException e) => e.SqliteErrorCode == 13;

    private readonly string _connectionString;

    private PatchDatabase(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating if needed) the database and applies pending migrations.</summary>
    public static PatchDatabase Open(string path)
    {
        var db = new PatchDatabase(path);
        using var connection = db.Connect();
        Execute(connection, "PRAGMA journal_mode=WAL;");
        db.Migrate(connection);
        return db;
    }

    /// <summary>Runs PRAGMA integrity_check and returns its answer ("ok" when healthy).</summary>
    public string IntegrityCheck()
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check;";
        return Convert.ToString(command.ExecuteScalar()) ?? "no answer";
    }

    /// <summary>The journal mode in force ("wal").</summary>
    public string JournalMode()
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        return Convert.ToString(command.ExecuteScalar()) ?? string.Empty;
    }

    /// <summary>Reads a value from the meta table.</summary>
    public string? GetMeta(string key)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE key = $k;";
        command.Parameters.AddWithValue("$k", key);
        return command.ExecuteScalar() as string;
    }

    /// <summary>Writes a value to the meta table.</summary>
    public void SetMeta(string key, string value)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO meta (key, value) VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value;";
        command.Parameters.AddWithValue("$k", key);
        command.Parameters.AddWithValue("$v", value);
        command.ExecuteNonQuery();
    }

    internal SqliteConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        SqliteFileControl.PersistWal(connection); // before the first statement, which opens the WAL
        Execute(connection, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;");
        return connection;
    }

    internal static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    internal static long ToUnixMs(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    internal static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private void Migrate(SqliteConnection connection)
    {
        using var versionCommand = connection.CreateCommand();
        versionCommand.CommandText = "PRAGMA user_version;";
        var current = Convert.ToInt32(versionCommand.ExecuteScalar());

        var assembly = typeof(PatchDatabase).Assembly;
        var migrations = assembly.GetManifestResourceNames()
            .Where(n => n.Contains(".Migrations.", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => (Number: ParseNumber(n), Name: n))
            .OrderBy(m => m.Number)
            .ToList();

        foreach (var (number, name) in migrations)
        {
            if (number <= current)
            {
                continue;
            }

            using var transaction = connection.BeginTransaction();
            Execute(connection, ReadResource(assembly, name), transaction);
            Execute(connection, $"PRAGMA user_version = {number};", transaction);
            transaction.Commit();
        }
    }

    private static int ParseNumber(string resourceName)
    {
        // "PeerPatch.Storage.Migrations.0001_initial.sql" -> 1
        var file = resourceName[(resourceName.IndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..];
        var underscore = file.IndexOf('_', StringComparison.Ordinal);
        return int.Parse(file[..underscore], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"missing migration {name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
