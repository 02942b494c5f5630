namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// A tmpfs of a given size mounted in a temporary directory (needs root), lazily unmounted when disposed; and
/// <see cref="Fill"/>, which fills a disk to its last block.
/// </summary>
internal sealed class Tmpfs(string root, string path) : IAsyncDisposable
{
    /// <summary>The mount point.</summary>
    public string Path { get; } = path;

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (e.g. "100m") at <paramref name="dir"/>/<paramref name="name"/>.</summary>
    public static async Task<Tmpfs> MountAsync(TempDir dir, string size, string name = "data")
    {
        var path = dir.Sub(name);
        Directory.CreateDirectory(path);
        await ExternalCommand.RunAsync(dir.Path, "mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
        return new Tmpfs(dir.Path, path);
    }

    /// <summary>Writes <paramref name="path"/> until its disk is full: 1 MiB at a time, then 4 KiB at a time to the last block.</summary>
    public static void Fill(string path)
    {
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write);
        foreach (var chunk in new[] { new byte[1 << 20], new byte[4096] })
        {
            try
            {
                while (true)
                {
                    f.Write(chunk);
                    f.Flush(flushToDisk: true);
                }
            }
            catch (IOException)
            {
                // full at this chunk size
            }
        }
    }

    public async ValueTask DisposeAsync() => await ExternalCommand.RunAsync(root, "umount", ["-l", Path], allowFailure: true);
}
