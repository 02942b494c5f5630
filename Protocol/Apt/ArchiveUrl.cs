using System.Globalization;
using PeerPatch.Protocol.Apt;

namespace PeerPatch.Protocol.Apt;

/// <summary>
/// An origin URL as the proxy and the caches see it: scheme, lower-case host, explicit port, and the canonical path
/// (<see cref="ArchivePath"/>), so that every spelling of one file (apt's <c>%2b</c>, another client's <c>+</c>)
/// is one key and one upstream request. Parsed from the raw request target, never through <see cref="Uri"/>'s own
/// unescaping and dot-segment removal, so a traversal spelling is refused rather than silently resolved.
/// </summary>
public sealed record ArchiveUrl(string Scheme, string Host, int Port, string Path, string Query)
{
    /// <summary>Longest host name accepted (RFC 1035).</summary>
    public const int MaxHostLength = 253;

    /// <summary>The key of the file: scheme://host:port/canonical-path (the query is not part of an archive file's name).</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture, $"{Scheme}://{Host}:{Port}{Path}");

    /// <summary>The key of the response, for caches of other sites (redirect mode): the query too.</summary>
    public string KeyWithQuery => Key + Query;

    /// <summary>The URL sent upstream: the canonical spelling.</summary>
    public Uri ToUri() => new(KeyWithQuery, UriKind.Absolute);

    /// <summary>The decoded last segment: the file name as the archive writes it.</summary>
    public string FileName => ArchivePath.FileName(Path);

    public override string ToString() => KeyWithQuery;

    /// <summary>Parses an absolute-form request target (http://host[:port]/path[?query]).</summary>
    public static bool TryParseAbsolute(string? raw, out ArchiveUrl url)
    {
        url = null!;
        if (raw is null || raw.Length > ArchivePath.MaxLength + MaxHostLength + 16)
        {
            return false;
        }

        var scheme = raw.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? "http" : null;
        if (scheme is null)
        {
            return false;
        }

        var rest = raw.AsSpan(7);
        var slash = rest.IndexOfAny('/', '?');
        if (slash <= 0 || rest[slash] != '/')
        {
            return false;
        }

        return TryParseAuthority(rest[..slash].ToString(), 80, out var host, out var port) && TryFromParts(scheme, host, port, rest[slash..].ToString(), out url);
    }

    /// <summary>Builds the URL of an origin-form request (/path[?query]) for <paramref name="host"/> (a Host header).</summary>
    public static bool TryParseOrigin(string hostHeader, string? rawTarget, out ArchiveUrl url)
    {
        url = null!;
        return rawTarget is not null && rawTarget.StartsWith('/') && TryParseAuthority(hostHeader, 80, out var host, out var port)
            && TryFromParts("http", host, port, rawTarget, out url);
    }

    /// <summary>The URL of <paramref name="uri"/> (an index URL, a source's base): its path as the URI escapes it.</summary>
    public static bool TryFromUri(Uri uri, out ArchiveUrl url)
    {
        url = null!;
        return uri.IsAbsoluteUri && uri.Scheme is "http" or "https" && TryParseAuthority(uri.Authority, uri.Port, out var host, out var port)
            && TryFromParts(uri.Scheme, host, uri.IsDefaultPort ? port : uri.Port, uri.PathAndQuery, out url);
    }

    /// <summary>
    /// Parses HOST[:PORT] (IPv6 in brackets; no user info): the host lower-cased, brackets kept for IPv6, the port
    /// <paramref name="defaultPort"/> when absent.
    /// </summary>
    public static bool TryParseAuthority(string authority, int defaultPort, out string host, out int port)
    {
        host = string.Empty;
        port = defaultPort;
        if (authority.Length is 0 or > MaxHostLength + 8 || authority.Contains('@', StringComparison.Ordinal))
        {
            return false;
        }

        var portPart = string.Empty;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !System.Net.IPAddress.TryParse(authority[1..close], out _))
            {
                return false;
            }

            host = authority[..(close + 1)].ToLowerInvariant();
            portPart = authority[(close + 1)..];
            if (portPart.Length > 0 && portPart[0] != ':')
            {
                return false;
            }

            portPart = portPart.TrimStart(':');
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = (colon >= 0 ? authority[..colon] : authority).ToLowerInvariant().TrimEnd('.');
            portPart = colon >= 0 ? authority[(colon + 1)..] : string.Empty;
            if (host.Length == 0 || !host.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            {
                return false;
            }
        }

        if (portPart.Length > 0 && (!int.TryParse(portPart, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            return false;
        }

        return true;
    }

    private static bool TryFromParts(string scheme, string host, int port, string pathAndQuery, out ArchiveUrl url)
    {
        url = null!;
        var q = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        var query = q >= 0 ? pathAndQuery[q..] : string.Empty;
        if (query.Any(c => c <= ' ' || c == '#' || c == 0x7F) || !ArchivePath.TryCanonicalize(q >= 0 ? pathAndQuery[..q] : pathAndQuery, out var path))
        {
            return false;
        }

        url = new ArchiveUrl(scheme, host, port, path, query);
        return true;
    }
}
