namespace PeerPatch.Node.Redirect;

/// <summary>
/// The managed block in the hosts file (/etc/hosts; %SystemRoot%\System32\drivers\etc\hosts on Windows):
/// <code>
/// # BEGIN peerpatch redirect
/// 127.0.0.1 updates.example.com
/// # END peerpatch redirect
/// </code>
/// Pure text functions (the file's own line ending is used) plus an atomic, backed-up write. Adding the block to a
/// file that does not end with a newline adds one, and the marker records it, so removing the block gives back the
/// original bytes exactly.
/// </summary>
internal static class HostsFile
{
    public const string Begin = "# BEGIN peerpatch redirect";
    public const string AddedNewline = " (newline added)";
    public const string End = "# END peerpatch redirect";

    public static string DefaultPath => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.System), "drivers", "etc", "hosts")
        : "/etc/hosts";

    /// <summary>The (address, domain) pairs in the block; empty when there is none.</summary>
    public static IReadOnlyList<(string Address, string Domain)> Entries(string content)
    {
        if (Find(content) is not { } block)
        {
            return [];
        }

        var entries = new List<(string, string)>();
        foreach (var line in content[block.BodyStart..block.BodyEnd].Split('\n'))
        {
            var parts = line.Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && !parts[0].StartsWith('#'))
            {
                entries.AddRange(parts.Skip(1).Select(d => (parts[0], d.ToLowerInvariant())));
            }
        }

        return entries;
    }

    /// <summary>The content with the block holding exactly <paramref name="entries"/> (no block when empty).</summary>
    public static string WithEntries(string content, IReadOnlyList<(string Address, string Domain)> entries)
    {
        var original = Without(content);
        if (entries.Count == 0)
        {
            return original;
        }

        var eol = original.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var needsNewline = original.Length > 0 && !original.EndsWith('\n');
        var block = string.Concat(
            needsNewline ? eol : string.Empty,
            Begin, needsNewline ? AddedNewline : string.Empty, eol,
            string.Concat(entries.Select(e => $"{e.Address} {e.Domain}{eol}")),
            End, eol);
        return original + block;
    }

    /// <summary>The content without the block, byte for byte as it was before the block was added.</summary>
    public static string Without(string content)
    {
        if (Find(content) is not { } block)
        {
            return content;
        }

        var start = block.Start;
        if (block.AddedNewline)
        {
            start -= start >= 2 && content[start - 2] == '\r' ? 2 : 1;
        }

        return content[..start] + content[block.After..];
    }

    /// <summary>Validates a domain for the block: a DNS name, no spaces, no comment, not an address.</summary>
    public static bool IsDomain(string domain) =>
        domain.Length is > 0 and <= 253 && Uri.CheckHostName(domain) == UriHostNameType.Dns && domain.Contains('.', StringComparison.Ordinal)
        && domain.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-');

    /// <summary>Writes the hosts file atomically (temp file in the same directory, fsync, rename), keeping its mode; the first write saves a backup.</summary>
    public static void Write(string path, string content)
    {
        var backup = path + ".peerpatch-backup";
        if (!File.Exists(backup) && File.Exists(path))
        {
            File.Copy(path, backup);
        }

        var temp = path + ".peerpatch-tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(content));
            stream.Flush(flushToDisk: true);
        }

        if (!OperatingSystem.IsWindows() && File.Exists(path))
        {
            File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
        }

        File.Move(temp, path, overwrite: true);
    }

    private static Block? Find(string content)
    {
        var begin = LineStart(content, Begin);
        if (begin < 0)
        {
            return null;
        }

        var beginEnd = content.IndexOf('\n', begin);
        var end = beginEnd < 0 ? -1 : LineStart(content, End, beginEnd + 1);
        if (end < 0)
        {
            return null; // a damaged block is left alone rather than guessed at
        }

        var endEnd = content.IndexOf('\n', end);
        var added = content.AsSpan(begin, beginEnd - begin).TrimEnd('\r').EndsWith(AddedNewline, StringComparison.Ordinal);
        return new Block(begin, beginEnd + 1, end, endEnd < 0 ? content.Length : endEnd + 1, added);
    }

    private static int LineStart(string content, string marker, int from = 0)
    {
        for (var i = content.IndexOf(marker, from, StringComparison.Ordinal); i >= 0; i = content.IndexOf(marker, i + 1, StringComparison.Ordinal))
        {
            if (i == 0 || content[i - 1] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    private sealed record Block(int Start, int BodyStart, int BodyEnd, int After, bool AddedNewline);
}
