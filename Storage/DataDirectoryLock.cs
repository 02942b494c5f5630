namespace PeerPatch.Storage;

/// <summary>
/// An exclusive lock on a data directory, held for the life of the node. On Unix .NET maps FileShare.None
/// to flock(LOCK_EX), which the kernel drops when the process dies, so a kill -9 never leaves a stale lock.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _stream;

    private DataDirectoryLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock or throws <see cref="DataDirectoryInUseException"/>.</summary>
    public static DataDirectoryLock Acquire(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "peerpatch.lock");
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            stream.Write(pid);
            stream.Flush();
            return new DataDirectoryLock(stream);
        }
        catch (IOException e)
        {
            throw new DataDirectoryInUseException(
                $"data directory '{directory}' is in use by another peerpatch node; give each node its own --data directory", e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}
