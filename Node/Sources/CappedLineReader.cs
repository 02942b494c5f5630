using System.Text;

namespace PeerPatch.Node.Sources;

/// <summary>
/// Reads lines of text, keeping at most <c>maxLine</c> characters of each and skipping the rest of a longer one
/// without holding it in memory. Real Packages lists have such lines (Debian 12's main list has a 75 KB Provides:
/// line), and a reader that stops at the first of them loses every package after it; the fields a hash lookup needs
/// (Filename, Size, SHA256) are short.
/// </summary>
internal sealed class CappedLineReader(TextReader inner, int maxLine) : TextReader
{
    private readonly char[] _buffer = new char[16 * 1024];
    private readonly StringBuilder _line = new();
    private int _pos;
    private int _len;

    /// <summary>Lines that were longer than the cap (and were cut).</summary>
    public long CutLines { get; private set; }

    public override string? ReadLine()
    {
        _line.Clear();
        long seen = 0;
        var lastIsCr = false;
        while (true)
        {
            if (_pos == _len)
            {
                _len = inner.Read(_buffer, 0, _buffer.Length);
                _pos = 0;
                if (_len == 0)
                {
                    return seen > 0 ? Finish(seen, lastIsCr) : null;
                }
            }

            var rest = _buffer.AsSpan(_pos, _len - _pos);
            var newline = rest.IndexOf('\n');
            var part = newline < 0 ? rest : rest[..newline];
            if (!part.IsEmpty)
            {
                seen += part.Length;
                lastIsCr = part[^1] == '\r';
                _line.Append(part[..Math.Min(part.Length, Math.Max(maxLine + 1 - _line.Length, 0))]); // one more: a final '\r'
            }

            if (newline >= 0)
            {
                _pos += newline + 1;
                return Finish(seen, lastIsCr);
            }

            _pos = _len;
        }
    }

    public override int Read() => throw new NotSupportedException("read lines");

    public override int Peek() => throw new NotSupportedException("read lines");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private string Finish(long seen, bool endsWithCr)
    {
        // A line ending "\r\n" ends without its '\r', as TextReader.ReadLine does.
        var length = endsWithCr ? seen - 1 : seen;
        if (length > maxLine)
        {
            CutLines++;
        }

        _line.Length = (int)Math.Min(length, maxLine);
        return _line.ToString();
    }
}
