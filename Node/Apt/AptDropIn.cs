using System.Text;

namespace PeerPatch.Node.Apt;

/// <summary>
/// What `peerpatch apt enable` writes: a drop-in in apt.conf.d that makes apt ask a small helper for its http://
/// proxy (Acquire::http::Proxy-Auto-Detect), and the helper, which names this PC's node when it answers within a
/// second and DIRECT otherwise, so a stopped node never blocks apt. It also asks apt for gzip indexes, the ones
/// the proxy reads to learn package hashes. HTTPS repositories are not proxied (apt connects to them directly).
/// Files are written atomically (temp file, rename); `disable` removes both.
/// </summary>
internal static class AptDropIn
{
    public const string DropInName = "30peerpatch";
    public const string HelperName = "apt-proxy-detect";
    public const string Marker = "// peerpatch apt enable";

    public static string DropIn(string helperPath) => new StringBuilder()
        .Append(Marker).Append(": apt fetches http:// repositories through this PC's PeerPatch node, or directly when it is down.\n")
        .Append("// Remove with `peerpatch apt disable`.\n")
        .Append("Acquire::http::Proxy-Auto-Detect \"").Append(helperPath).Append("\";\n")
        .Append("Acquire::CompressionTypes::Order:: \"gz\";\n")
        .ToString();

    public static string Helper(Uri proxy) =>
        "#!/bin/bash\n"
        + "# Written by `peerpatch apt enable`: apt runs this before it connects to an http:// repository.\n"
        + "# It names the PeerPatch node as apt's proxy when the node answers, and DIRECT when it does not.\n"
        + $"if timeout 1 bash -c 'exec 3<>/dev/tcp/{proxy.Host}/{proxy.Port}' 2>/dev/null; then echo '{proxy.GetLeftPart(UriPartial.Authority)}/'; else echo DIRECT; fi\n";

    public static void Enable(string confDir, string helperDir, Uri proxy)
    {
        Directory.CreateDirectory(confDir);
        Directory.CreateDirectory(helperDir);
        var helper = Path.Combine(helperDir, HelperName);
        WriteAtomically(helper, Helper(proxy), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        WriteAtomically(Path.Combine(confDir, DropInName), DropIn(helper), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>Removes the drop-in and the helper; true when there was something to remove.</summary>
    public static bool Disable(string confDir, string helperDir)
    {
        var dropIn = Path.Combine(confDir, DropInName);
        var existed = File.Exists(dropIn);
        if (existed && !File.ReadAllText(dropIn).StartsWith(Marker, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{dropIn} was not written by peerpatch; left alone");
        }

        File.Delete(dropIn);
        File.Delete(Path.Combine(helperDir, HelperName));
        return existed;
    }

    internal static void WriteAtomically(string path, string text, UnixFileMode mode)
    {
        var temp = path + ".peerpatch-tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, mode);
        }

        File.Move(temp, path, overwrite: true);
    }
}
