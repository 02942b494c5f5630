using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Tests.Sources;

/// <summary>
/// A download apt lists (a URL as apt-get --print-uris writes it, escaped) and the Packages stanza it comes from (an
/// archive root and an unescaped Filename) meet on one key, through System.Uri, whatever the version string holds.
/// </summary>
public sealed class AptListHashesTests
{
    private static readonly Gen<string> Piece = Gen.Elements("1", "2.36", "9", "deb12u14", "b1", "dfsg", "rc1", "0", "ubuntu0.24.04.1", "esm2", "git20230101");

    private static readonly Gen<string> DebVersion =
        from epoch in Gen.Elements(string.Empty, "1:", "2:", "10:")
        from pieces in Gen.ArrayOf(Piece, 4)
        from seps in Gen.ArrayOf(Gen.Elements("+", "~", ".", "-"), 3)
        select epoch + pieces[0] + seps[0] + pieces[1] + seps[1] + pieces[2] + seps[2] + pieces[3];

    /// <summary>How a client may write one character of the file name in a URL.</summary>
    private static string Spell(char c, int how) => how switch
    {
        _ when char.IsAsciiLetterOrDigit(c) || c is '.' or '_' || how == 0 => c.ToString(),
        1 => "%" + ((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture),
        _ => "%" + ((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public void ThePrintUrisUrl_AndTheListsFilename_HaveOneKey_AndThePatchNameIsTheArchivesFileName()
    {
        var cases =
            from root in Gen.Elements("http://deb.debian.org/debian/", "http://Security.Debian.ORG/debian-security/", "https://mirror.example:8443/a/b/", "http://127.0.0.1:38517/")
            from package in Gen.Elements("libc6", "libcap2", "g++-12", "libstdc++6", "tzdata", "x")
            from version in DebVersion
            from arch in Gen.Elements("amd64", "all", "i386")
            let file = $"{package}_{(version.Contains(':', StringComparison.Ordinal) ? version[(version.IndexOf(':', StringComparison.Ordinal) + 1)..] : version)}_{arch}.deb"
            from how in Gen.ArrayOf(Gen.Choose(0, 2), file.Length)
            select (root, filename: $"pool/main/{package[0]}/{package}/{file}", file, spelled: string.Concat(file.Select((c, i) => Spell(c, how[i]))), package);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var url = new Uri($"{c.root}pool/main/{c.package[0]}/{c.package}/{c.spelled}");
            var fromList = AptListHashes.Key(new Uri(c.root), c.filename);
            Assert.NotNull(fromList);
            Assert.Equal(fromList, AptListHashes.Key(url));
            Assert.Equal(c.file, AptSource.PatchName(new AptDownload(url, "local-name.deb", 1, null)));
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Theory]
    [InlineData("http://h/debian/pool/a%00b.deb")]
    [InlineData("http://h/debian/pool/a%5c..%5cb.deb")]
    [InlineData("http://h/debian/pool/a%3fb.deb")]
    public void ControlBytesBackslashesOrEscapedQueryMarks_HaveNoKey(string url) => Assert.Null(AptListHashes.Key(new Uri(url)));

    [Theory]
    [InlineData("http://h/debian/pool/%2e%2e/%2E%2E/etc/x.deb", "http://h/etc/x.deb")]
    [InlineData("http://h/debian/pool/../x.deb", "http://h/debian/x.deb")]
    public void DotSegments_AreResolvedByUriBeforeTheKey_SoNoKeyClimbs(string url, string key) => Assert.Equal(key, AptListHashes.Key(new Uri(url)));
}
