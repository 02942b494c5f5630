using System.Text;
using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Protocol.Text;

namespace PeerPatch.Node.Tests.Protocol;

/// <summary>Log escaping (issue 19, log forging): no raw control character survives, and escaping is reversible.</summary>
public sealed class LogTextTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(5000);

    /// <summary>Characters that break lines, drive terminals, reorder text or escape, mixed with plain ones and any UTF-16 unit.</summary>
    private static readonly char[] Hostile =
    [
        '\n', '\r', '\t', '\0', '\u001b', '\u0007', '\b', '\f', '\v', '\u007f', '\u0085', '\u009b', '\u2028', '\u2029',
        '\u202e', '\u2066', '\u200f', '\ud800', '\udfff', '\\', 'n', 'r', 't', 'u', '0', 'a', 'F', '[', ']', ' ', '{', '"',
    ];

    internal static Arbitrary<string> HostileStrings { get; } = Gen.OneOf(
            Gen.Elements(Hostile),
            Gen.Choose(0, 0xFFFF).Select(i => (char)i))
        .ArrayOf()
        .Select(chars => new string(chars))
        .ToArbitrary();

    [Fact]
    public void EscapedText_NeverHoldsAControlCharacter_ALineBreak_ABidiControl_OrALoneSurrogate() =>
        Prop.ForAll(HostileStrings, text =>
        {
            var escaped = LogText.Escape(text);
            foreach (var c in escaped)
            {
                Assert.False(LogText.IsDangerous(c), $"raw U+{(int)c:X4} in {escaped}");
            }

            Assert.True(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(escaped)) == escaped, "a lone surrogate survived");
        }).Check(Many);

    [Fact]
    public void Unescape_GivesBackTheOriginal_SoEscapingIsUnambiguous() =>
        Prop.ForAll(HostileStrings, text => Assert.Equal(text, LogText.Unescape(LogText.Escape(text)))).Check(Many);

    [Fact]
    public void TextWithoutDangerousCharacters_IsLeftAlone() =>
        Prop.ForAll(HostileStrings, text =>
        {
            var plain = new string(text.Where(c => !LogText.IsDangerous(c) && !char.IsSurrogate(c) && c != '\\').ToArray());
            Assert.Same(plain, LogText.Escape(plain));
        }).Check(Many);

    [Theory]
    [InlineData("KB1\n[ERR] fake", @"KB1\n[ERR] fake")]
    [InlineData("a\r\nb", @"a\r\nb")]
    [InlineData("\u001b[31mred", @"\u001b[31mred")]
    [InlineData("line\u2028sep\u0085nel", @"line\u2028sep\u0085nel")]
    [InlineData("abc\u202etxt.exe", @"abc\u202etxt.exe")]
    [InlineData(@"C:\ProgramData\PeerPatch", @"C:\ProgramData\PeerPatch")] // Windows paths stay readable
    [InlineData(@"C:\new\temp", @"C:\\new\\temp")] // ...except where a backslash would read as an escape
    [InlineData("\\\n", @"\\\n")]
    public void Escape_WritesVisibleEscapes(string raw, string expected)
    {
        Assert.Equal(expected, LogText.Escape(raw));
        Assert.Equal(raw, LogText.Unescape(expected));
    }
}
