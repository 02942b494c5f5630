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
/// original bytes exactly. The file is read and written as Latin-1 (<see cref="Read"/>): one char per byte, so bytes
/// that are not UTF-8 (an ANSI editor's comment) and a BOM come back as they were; the block itself is ASCII.
/// </summary>
internal static class HostsFile
{
    public const string Begin = "# BEGIN peerpatch redirect";
    public const string AddedNewline = " (newline added)";
    public const string End = "# END peerpatch redirect";

    public static string DefaultPath => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.System), "drivers", "etc", "hosts")
        : "/etc/hosts";

    /// <summary>The hosts file's bytes, one char each (Latin-1); empty when there is no file. <see cref="Write"/> writes them back the same way.</summary>
    public static string Read(string path) => File.Exists(path) ? System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(path)) : string.Empty;

    /// <summary>The (address, domain) pairs in the block; empty when there is none.</summary>
    /// <remarks>Every complete block counts (a block copied by hand, or brought back by an old backup): each one redirects.</remarks>
    public static IReadOnlyList<(string Address, string Domain)> Entries(string content)
    {
        var entries = new List<(string, string)>();
        for (var from = 0; Find(content, from) is { } block; from = block.After)
        {
            foreach (var line in content[block.BodyStart..block.BodyEnd].Split('\n'))
            {
                var parts = line.Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && !parts[0].StartsWith('#'))
                {
                    entries.AddRange(parts.Skip(1).Select(d => (parts[0], d.ToLowerInvariant())));
                }
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
        // Every complete block goes (see Entries), each with the newline its marker says it added.
        while (Find(content) is { } block)
        {
            var start = block.Start;
            if (block.AddedNewline)
            {
                // The newline added was the block's own line end, not whatever came before it: removed when it is still
                // there (an edit by hand may have removed the lines above the block, or changed their line ends).
                start -= block.Crlf && content.AsSpan(0, start).EndsWith("\r\n", StringComparison.Ordinal) ? 2
                    : start > 0 && content[start - 1] == '\n' ? 1 : 0;
            }

            content = content[..start] + content[block.After..];
        }

        return content;
    }

    /// <summary>Validates a domain for the block: a DNS name, no spaces, no comment, not an address.</summary>
    public static bool IsDomain(string domain) =>
        domain.Length is > 0 and <= 253 && Uri.CheckHostName(domain) == UriHostNameType.Dns && domain.Contains('.', StringComparison.Ordinal)
        && domain.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-');

    /// <summary>
    /// Writes the hosts file atomically (temp file in the same directory, fsync, rename), keeping its mode; through a
    /// symlink, the file it names is replaced and the link stays. The first write saves a backup (atomically too) of
    /// the file as it was without PeerPatch's block. A failed write leaves no temp file behind.
    /// </summary>
    public static void Write(string path, string content)
    {
        var backup = path + ".peerpatch-backup";
        var target = new FileInfo(path).LinkTarget is null ? path : new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        if (!File.Exists(backup) && File.Exists(target))
        {
            Replace(backup, Without(Read(target)), target);
        }

        Replace(target, content, target);
    }

    /// <summary>Writes <paramref name="path"/> through a temp file beside it with the mode of <paramref name="modeOf"/> (when it exists).</summary>
    private static void Replace(string path, string content, string modeOf)
    {
        var temp = path + ".peerpatch-tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(System.Text.Encoding.Latin1.GetBytes(content));
                stream.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows() && File.Exists(modeOf))
            {
                File.SetUnixFileMode(temp, File.GetUnixFileMode(modeOf));
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static Block? Find(string content, int from = 0)
    {
        int begin, beginEnd, end;
        while (true)
        {
            begin = LineStart(content, Begin, from);
            if (begin < 0)
            {
                return null;
            }

            beginEnd = content.IndexOf('\n', begin);
            end = beginEnd < 0 ? -1 : LineStart(content, End, beginEnd + 1);
            if (end < 0)
            {
                return null; // a damaged block is left alone rather than guessed at
            }

            // A BEGIN line with another one before its END is a damaged block's (its END deleted by hand): left alone,
            // with the lines after it; the block is the one that starts nearest its END.
            var next = LineStart(content, Begin, beginEnd + 1);
            if (next < 0 || next > end)
            {
                break;
            }

            from = next;
        }

        var endEnd = content.IndexOf('\n', end);
        var crlf = beginEnd > begin && content[beginEnd - 1] == '\r';
        var added = content.AsSpan(begin, beginEnd - begin).TrimEnd('\r').EndsWith(AddedNewline, StringComparison.Ordinal);
        return new Block(begin, beginEnd + 1, end, endEnd < 0 ? content.Length : endEnd + 1, added, crlf);
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

    private sealed record Block(int Start, int BodyStart, int BodyEnd, int After, bool AddedNewline, bool Crlf);
}
