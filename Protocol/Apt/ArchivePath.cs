using System.Text;

namespace PeerPatch.Protocol.Apt;

/// <summary>
/// The one canonical form of a path in a package archive (an apt repository, a redirected download site), used as
/// the key of every catalog and cache and for every request, so that each file has one key whatever spelling found it.
/// <para>
/// Clients spell one file many ways: apt sends <c>libc6_2.36-9%2bdeb12u14_amd64.deb</c> and an epoch's colon as
/// <c>%3a</c>, another client sends <c>+</c> and <c>:</c>, upper- or lower-case hex, <c>~</c> or <c>%7e</c>; the
/// <c>Filename:</c> field of a Packages index writes the bytes unescaped. The canonical form is the decoded bytes
/// (UTF-8), with every byte outside RFC 3986's unreserved set (<c>A-Z a-z 0-9 - . _ ~</c>) written as <c>%XX</c> in
/// upper-case hex, segments joined by <c>/</c>, and one leading <c>/</c>. It is itself a valid request path that
/// every archive server understands (apt escapes <c>+</c> and <c>:</c> the same way), and the concatenation of two
/// canonical paths is canonical.
/// </para>
/// <para>
/// Refused (the method returns false): empty input, input longer than <see cref="MaxLength"/>, a malformed escape
/// (<c>%</c> not followed by two hex digits), an empty segment (<c>//</c>, a trailing <c>/</c>), a <c>.</c> or
/// <c>..</c> segment, a backslash, NUL or any other control byte (0x00-0x1F, 0x7F), a query (<c>?</c>) or fragment
/// (<c>#</c>) mark, whether written raw or escaped. An encoded slash (<c>%2F</c>) separates segments like <c>/</c>
/// does (servers decode it), so it cannot hide a traversal.
/// </para>
/// </summary>
public static class ArchivePath
{
    /// <summary>Longest input accepted (characters), raw or literal.</summary>
    public const int MaxLength = 2048;

    /// <summary>
    /// The canonical form of <paramref name="rawPath"/>, a path as a client sends it in a request (percent-escaped,
    /// with or without its leading <c>/</c>, without query).
    /// </summary>
    public static bool TryCanonicalize(string? rawPath, out string canonical) => TryBuild(rawPath, decode: true, out canonical);

    /// <summary>
    /// The canonical form of <paramref name="literalPath"/>, a path written with its bytes as they are, never escaped:
    /// a <c>Filename:</c> field of a Packages index, a name on disk. A <c>%</c> in it is a percent sign.
    /// </summary>
    public static bool TryCanonicalizeLiteral(string? literalPath, out string canonical) => TryBuild(literalPath, decode: false, out canonical);

    /// <summary>True when <paramref name="path"/> is already in canonical form.</summary>
    public static bool IsCanonical(string? path) => TryCanonicalize(path, out var canonical) && string.Equals(canonical, path, StringComparison.Ordinal);

    /// <summary>The last segment of a canonical path, decoded: the file name as written in the archive.</summary>
    public static string FileName(string canonical)
    {
        ArgumentNullException.ThrowIfNull(canonical);
        return Uri.UnescapeDataString(canonical[(canonical.LastIndexOf('/') + 1)..]);
    }

    private static bool TryBuild(string? input, bool decode, out string canonical)
    {
        canonical = string.Empty;
        if (string.IsNullOrEmpty(input) || input.Length > MaxLength)
        {
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes(input);
        var decoded = new List<byte>(bytes.Length);
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (decode && b == (byte)'%')
            {
                if (i + 2 >= bytes.Length || !IsHex(bytes[i + 1]) || !IsHex(bytes[i + 2]))
                {
                    return false;
                }

                b = (byte)((HexValue(bytes[i + 1]) << 4) | HexValue(bytes[i + 2]));
                i += 2;
            }

            if (b < 0x20 || b == 0x7F || b is (byte)'\\' or (byte)'?' or (byte)'#')
            {
                return false;
            }

            decoded.Add(b);
        }

        var start = decoded.Count > 0 && decoded[0] == (byte)'/' ? 1 : 0;
        var sb = new StringBuilder(decoded.Count + 16);
        var segmentStart = start;
        for (var i = start; i <= decoded.Count; i++)
        {
            if (i < decoded.Count && decoded[i] != (byte)'/')
            {
                continue;
            }

            var length = i - segmentStart;
            if (length == 0 || (length == 1 && decoded[segmentStart] == (byte)'.') || (length == 2 && decoded[segmentStart] == (byte)'.' && decoded[segmentStart + 1] == (byte)'.'))
            {
                return false;
            }

            sb.Append('/');
            for (var j = segmentStart; j < i; j++)
            {
                Append(sb, decoded[j]);
            }

            segmentStart = i + 1;
        }

        canonical = sb.ToString();
        return true;
    }

    private static void Append(StringBuilder sb, byte b)
    {
        if (b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~')
        {
            sb.Append((char)b);
        }
        else
        {
            sb.Append('%').Append("0123456789ABCDEF"[b >> 4]).Append("0123456789ABCDEF"[b & 0xF]);
        }
    }

    private static bool IsHex(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F');

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
