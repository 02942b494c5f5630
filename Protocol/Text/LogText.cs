using System.Globalization;
using System.Text;

namespace PeerPatch.Protocol.Text;

/// <summary>
/// Makes untrusted text safe to write to a log line or a terminal: no character that ends a line, moves the cursor,
/// drives a terminal or reorders text survives. Each becomes a visible escape: <c>\n</c>, <c>\r</c>, <c>\t</c>, or
/// <c>\uXXXX</c> (lowercase hex) for every other C0 and C1 control, DEL, U+2028/U+2029, the bidirectional controls
/// (U+061C, U+200E/F, U+202A-E, U+2066-9) and lone surrogates. A backslash is doubled only where it would otherwise
/// read as the start of an escape (before <c>\</c>, <c>n</c>, <c>r</c>, <c>t</c>, <c>u</c> or an escaped character), so
/// Windows paths stay readable and <see cref="Unescape"/> gives back the original exactly. Pure functions.
/// </summary>
public static class LogText
{
    /// <summary>Redacts secrets in URLs (<see cref="SecretRedaction.RedactText"/>), then escapes: what every log line and terminal gets.</summary>
    public static string Sanitize(string? text) => text is null ? string.Empty : Escape(SecretRedaction.RedactText(text));

    /// <summary>True when <see cref="Escape"/> would change <paramref name="text"/>.</summary>
    public static bool NeedsEscape(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (IsEscaped(text, i) || (text[i] == '\\' && BackslashNeedsDoubling(text, i)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The text with every dangerous character as a visible escape; unchanged (same instance) when it has none.</summary>
    public static string Escape(string text)
    {
        if (!NeedsEscape(text))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\')
            {
                sb.Append(BackslashNeedsDoubling(text, i) ? @"\\" : @"\");
            }
            else if (!IsEscaped(text, i))
            {
                sb.Append(c);
            }
            else
            {
                sb.Append(c switch
                {
                    '\n' => @"\n",
                    '\r' => @"\r",
                    '\t' => @"\t",
                    _ => @"\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                });
            }
        }

        return sb.ToString();
    }

    /// <summary>The inverse of <see cref="Escape"/>: <c>\\</c>, <c>\n</c>, <c>\r</c>, <c>\t</c> and <c>\uXXXX</c> are decoded; any other backslash is literal.</summary>
    public static string Unescape(string text)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '\\' || i + 1 >= text.Length)
            {
                sb.Append(c);
                continue;
            }

            switch (text[i + 1])
            {
                case '\\': sb.Append('\\'); i++; break;
                case 'n': sb.Append('\n'); i++; break;
                case 'r': sb.Append('\r'); i++; break;
                case 't': sb.Append('\t'); i++; break;
                case 'u' when IsHex4(text, i + 2):
                    sb.Append((char)int.Parse(text.AsSpan(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                    i += 5;
                    break;
                default: sb.Append('\\'); break;
            }
        }

        return sb.ToString();
    }

    /// <summary>True for a character that <see cref="Escape"/> writes as an escape sequence.</summary>
    public static bool IsDangerous(char c) =>
        c < 0x20 || c is >= '\u007f' and <= '\u009f' || c is '\u2028' or '\u2029' or '\u061c' or '\u200e' or '\u200f'
        || c is >= '\u202a' and <= '\u202e' || c is >= '\u2066' and <= '\u2069';

    private static bool IsEscaped(string text, int i)
    {
        var c = text[i];
        if (char.IsHighSurrogate(c))
        {
            return i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]);
        }

        if (char.IsLowSurrogate(c))
        {
            return i == 0 || !char.IsHighSurrogate(text[i - 1]);
        }

        return IsDangerous(c);
    }

    private static bool BackslashNeedsDoubling(string text, int i) =>
        i + 1 < text.Length && (text[i + 1] is '\\' or 'n' or 'r' or 't' or 'u' || IsEscaped(text, i + 1));

    private static bool IsHex4(string text, int at)
    {
        if (at + 4 > text.Length)
        {
            return false;
        }

        for (var k = at; k < at + 4; k++)
        {
            if (!char.IsAsciiHexDigit(text[k]))
            {
                return false;
            }
        }

        return true;
    }
}
