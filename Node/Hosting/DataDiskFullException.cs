namespace PeerPatch.Node.Hosting;

/// <summary>The data disk is too full for SQLite to open the database (it must create its -wal and -shm files).</summary>
internal sealed class DataDiskFullException(string message, Exception inner) : IOException(message, inner);
