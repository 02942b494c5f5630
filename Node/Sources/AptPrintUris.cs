using System.Globalization;
using System.Text.RegularExpressions;

namespace PeerPatch.Node.Sources;

/// <summary>One line of `apt-get --print-uris`: 'URL' FILENAME SIZE [HASHTYPE:HEX]. <see cref="Sha256"/> is null when apt printed another hash or none.</summary>
internal sealed record AptDownload(Uri Url, string Filename, long Size, string? Sha256);

/// <summary>
/// Parses the output of `apt-get --print-uris -qq dist-upgrade`: one download per line. Lines that are not
/// downloads (they do not start with a quote) are ignored; a download line that does not parse, or whose name is not
/// a plain file name, is rejected with the reason, never dropped. apt 2.6 prints the MD5 sum here even when the index
/// has a SHA-256, and no hash at all when the index has no MD5 (Debian's security archive): such a download comes
/// back without a SHA-256, for the caller to find in apt's verified lists (PeerPatch verifies every file against one).
/// </summary>
internal static partial class AptPrintUris
{
    public static (IReadOnlyList<AptDownload> Downloads, IReadOnlyList<string> Errors) Parse(string output)
    {
        var (downloads, rejected) = Read(output);
        return (downloads, rejected.Select(r => $"{r.Filename}: {r.Reason}").ToList());
    }

    /// <summary>As <see cref="Parse"/>, with each rejected download's file name apart from the reason.</summary>
    public static (IReadOnlyList<AptDownload> Downloads, IReadOnlyList<(string Filename, string Reason)> Rejected) Read(string output)
    {
        var downloads = new List<AptDownload>();
        var errors = new List<(string, string)>();
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var m = Line().Match(line);
            if (!m.Success)
            {
                if (line.StartsWith('\''))
                {
                    errors.Add((line.Length > 200 ? line[..200] : line, "not a line of apt-get --print-uris as PeerPatch knows it"));
                }

                continue;
            }

            var file = m.Groups["file"].Value;
            var hash = m.Groups["hash"].Value;
            if (!Uri.TryCreate(m.Groups["url"].Value, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add((file, $"not an http(s) URL: {m.Groups["url"].Value}"));
            }
            else if (file.Contains('/', StringComparison.Ordinal) || file is "." or ".." || !Protocol.WireFormat.IsPatchName(file))
            {
                errors.Add((file, "not a plain file name"));
            }
            else
            {
                var sha = hash.StartsWith("SHA256:", StringComparison.OrdinalIgnoreCase) && Protocol.WireFormat.IsSha256(hash[7..].ToLowerInvariant()) ? hash[7..].ToLowerInvariant() : null;
                downloads.Add(new AptDownload(url, file, long.Parse(m.Groups["size"].Value, CultureInfo.InvariantCulture), sha));
            }
        }

        return (downloads, errors);
    }

    [GeneratedRegex(@"^'(?<url>[^']+)' (?<file>\S+) (?<size>\d{1,15})(?: (?<hash>\S*))?\s*$")]
    private static partial Regex Line();
}
