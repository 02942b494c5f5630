using System.Text;

namespace PeerPatch.Protocol.Text;

/// <summary>
/// Strips secrets from URLs before they are published (HTTP endpoints, the database, events, diag) or logged: the
/// user information (<c>user:password@</c> becomes <c>***@</c>) and the values of query parameters whose names say
/// they carry a secret (any name containing token, secret, passw, pwd, signature, credential, apikey, api_key,
/// api-key, session or auth, and the names key, sig, pass, code and jwt, case-insensitive: <c>?token=***</c>).
/// Everything else of the URL is kept as written. Pure functions, no parsing that rewrites the text.
/// </summary>
public static class SecretRedaction
{
    /// <summary>What replaces a secret.</summary>
    public const string Mask = "***";

    private static readonly string[] SecretNameParts = ["token", "secret", "passw", "pwd", "signature", "credential", "apikey", "api_key", "api-key", "session", "auth"];
    private static readonly string[] SecretNames = ["key", "sig", "pass", "code", "jwt"];

    /// <summary>One URL with its secrets masked; null stays null; text without "://" is returned as it is.</summary>
    public static string? RedactUrl(string? url)
    {
        if (url is null)
        {
            return null;
        }

        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return url;
        }

        var authorityStart = scheme + 3;
        var authorityEnd = url.IndexOfAny(['/', '?', '#', '\\'], authorityStart);
        if (authorityEnd < 0)
        {
            authorityEnd = url.Length;
        }

        var sb = new StringBuilder(url.Length);
        sb.Append(url, 0, authorityStart);
        var at = authorityEnd > authorityStart ? url.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart) : -1;
        if (at >= 0)
        {
            sb.Append(Mask);
            sb.Append(url, at, authorityEnd - at);
        }
        else
        {
            sb.Append(url, authorityStart, authorityEnd - authorityStart);
        }

        var query = url.IndexOf('?', authorityEnd);
        if (query < 0)
        {
            sb.Append(url, authorityEnd, url.Length - authorityEnd);
            return sb.ToString();
        }

        sb.Append(url, authorityEnd, query + 1 - authorityEnd);
        var fragment = url.IndexOf('#', query);
        var queryEnd = fragment < 0 ? url.Length : fragment;
        var first = true;
        foreach (var part in url[(query + 1)..queryEnd].Split('&'))
        {
            if (!first)
            {
                sb.Append('&');
            }

            first = false;
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            sb.Append(eq > 0 && eq < part.Length - 1 && IsSecretName(part[..eq]) ? string.Concat(part.AsSpan(0, eq + 1), Mask) : part);
        }

        sb.Append(url, queryEnd, url.Length - queryEnd);
        return sb.ToString();
    }

    /// <summary>Free text with every URL in it (a scheme, "://", up to white space or a character no URL holds raw) redacted.</summary>
    public static string RedactText(string text)
    {
        var marker = text.IndexOf("://", StringComparison.Ordinal);
        if (marker < 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        var done = 0;
        while (marker >= 0)
        {
            var start = marker;
            while (start > done && IsSchemeChar(text[start - 1]))
            {
                start--;
            }

            var end = marker + 3;
            while (end < text.Length && !IsUrlEnd(text[end]))
            {
                end++;
            }

            sb.Append(text, done, start - done);
            sb.Append(RedactUrl(text[start..end]));
            done = end;
            marker = end < text.Length ? text.IndexOf("://", end, StringComparison.Ordinal) : -1;
        }

        sb.Append(text, done, text.Length - done);
        return sb.ToString();
    }

    /// <summary>True for a query parameter name that carries a secret (see the class summary).</summary>
    public static bool IsSecretName(string name)
    {
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(name);
        }
        catch (UriFormatException)
        {
            decoded = name;
        }

        foreach (var exact in SecretNames)
        {
            if (decoded.Equals(exact, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var part in SecretNameParts)
        {
            if (decoded.Contains(part, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsSchemeChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.';

    /// <summary>White space, controls and the characters a URL never holds raw (RFC 3986); not ', which user information may hold.</summary>
    private static bool IsUrlEnd(char c) => char.IsWhiteSpace(c) || char.IsControl(c) || c is '"' or '<' or '>' or '`';
}
