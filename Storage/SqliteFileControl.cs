using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace PeerPatch.Storage;

/// <summary>
/// The one SQLite call Microsoft.Data.Sqlite does not expose: sqlite3_file_control, on the e_sqlite3 library that
/// SQLitePCLRaw already loads (a source-generated P/Invoke: no reflection, Native AOT clean).
/// </summary>
internal static unsafe partial class SqliteFileControl
{
    private const int SqliteOk = 0;
    private const int SqliteFcntlPersistWal = 10;

    /// <summary>
    /// Sets SQLITE_FCNTL_PERSIST_WAL on <paramref name="connection"/>'s main database: when the last connection closes,
    /// SQLite checkpoints as usual but keeps the -wal and -shm files instead of deleting them. A restart then finds them
    /// and needs no new disk space to open the database (the -shm is truncated and re-extended in place), so a node
    /// restarted on a full disk still opens it. Journal mode (WAL), synchronous=FULL and what a checkpoint writes are
    /// unchanged: this only decides whether two already-checkpointed files are deleted at close.
    /// </summary>
    public static void PersistWal(SqliteConnection connection)
    {
        var on = 1;
        int rc;
        fixed (byte* main = "main\0"u8)
        {
            rc = FileControl(connection.Handle!.DangerousGetHandle(), main, SqliteFcntlPersistWal, &on);
        }

        if (rc != SqliteOk)
        {
            throw new InvalidOperationException($"SQLite refused SQLITE_FCNTL_PERSIST_WAL on {connection.DataSource} (code {rc})");
        }
    }

    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_file_control")]
    private static partial int FileControl(IntPtr db, byte* dbName, int op, int* arg);
}
