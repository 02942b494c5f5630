namespace PeerPatch.Node.Sources;

/// <summary>One binary package of an apt "Packages" index: where it lives under the archive root, its size and hash.</summary>
internal sealed record AptPackageFile(string Filename, long Size, string Sha256);

/// <summary>
/// Reads an apt "Packages" index (deb822 stanzas; RFC 822-style fields) as it streams and yields each stanza's
/// Filename, Size and SHA256. Untrusted input: stanzas missing one of the three, or with a malformed value, a path
/// that climbs ("..") or is absolute, are skipped. Lines are read through a <see cref="CappedLineReader"/>: real
/// lists have lines far longer than any field we read (Debian 12 main: a 75 KB Provides:), and they are cut, not
/// held, and never end the read.
/// </summary>
internal static class AptPackagesParser
{
    /// <summary>The longest line kept; the fields read here (Filename, Size, SHA256) are far shorter.</summary>
    public const int MaxLine = 8 * 1024;

    public static IEnumerable<AptPackageFile> Parse(TextReader input)
    {
        var reader = input as CappedLineReader ?? new CappedLineReader(input, MaxLine);
        string? filename = null, sha = null;
        long size = -1;
        while (true)
        {
            var line = reader.ReadLine();
            if (line is null || line.Length == 0)
            {
                if (filename is not null && sha is not null && size >= 0 && IsSafePath(filename) && Protocol.WireFormat.IsSha256(sha))
                {
                    yield return new AptPackageFile(filename, size, sha);
                }

                if (line is null)
                {
                    yield break;
                }

                (filename, sha, size) = (null, null, -1);
                continue;
            }

            if (line[0] is ' ' or '\t')
            {
                continue; // continuation of a multi-line field (Description, ...)
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var field = line.AsSpan(0, colon);
            var value = line.AsSpan(colon + 1).Trim();
            if (field.Equals("Filename", StringComparison.OrdinalIgnoreCase))
            {
                filename = value.ToString();
            }
            else if (field.Equals("SHA256", StringComparison.OrdinalIgnoreCase))
            {
                sha = value.ToString().ToLowerInvariant();
            }
            else if (field.Equals("Size", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var s))
            {
                size = s;
            }
        }
    }

    internal static bool IsSafePath(string path) =>
        path.Length is > 0 and <= 1024 && path[0] != '/' && !path.Contains('\\', StringComparison.Ordinal)
        && !path.Split('/').Any(p => p is "" or "." or "..") && !path.Any(char.IsControl);
}
