using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Security;

/// <summary>
/// Where a node's cluster key lives and how it is read and written. <c>ClusterKeyFile</c> unset: the default path
/// (/etc/peerpatch/cluster.key; %ProgramData%\PeerPatch\cluster.key) when that file exists, else no key. "none": no
/// key. A path: that file, which must exist and hold a key (a typo must not silently run the LAN open).
/// </summary>
internal static class ClusterKeyFile
{
    public const string None = "none";

    public static string DefaultPath => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "PeerPatch", "cluster.key")
        : "/etc/peerpatch/cluster.key";

    /// <summary>The key file a setting names, or null for none.</summary>
    public static string? Resolve(string? setting) => setting switch
    {
        null or "" => File.Exists(DefaultPath) ? DefaultPath : null,
        None => null,
        _ => setting,
    };

    /// <summary>Reads the key a setting names (null: none). Throws <see cref="InvalidDataException"/> with a clear message.</summary>
    public static ClusterKey? Load(string? setting, out string? path, out string? warning)
    {
        warning = null;
        path = Resolve(setting);
        if (path is null)
        {
            return null;
        }

        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > 4096)
            {
                throw new InvalidDataException($"cluster key file {path} is {info.Length} bytes: not a key file");
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"cannot read cluster key file {path}: {e.Message}", e);
        }

        if (!ClusterKey.TryParse(text, out var key, out var error))
        {
            throw new InvalidDataException($"cluster key file {path}: {error}");
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.OtherRead | UnixFileMode.GroupRead)) != 0)
        {
            warning = $"cluster key file {path} is readable by other users: chmod 600 it (anyone who reads it can join the LAN)";
        }

        return key;
    }

    /// <summary>Writes a key file atomically with mode 0600; refuses to replace one unless <paramref name="force"/>.</summary>
    public static void Write(string path, ClusterKey key, bool force)
    {
        if (File.Exists(path) && !force)
        {
            throw new IOException($"{path} exists: every node of the LAN must keep the same key (use --force to replace it)");
        }

        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(tmp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(key.Export() + "\n");
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }
    }
}
