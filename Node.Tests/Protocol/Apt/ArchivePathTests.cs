using System.Text;
using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Protocol.Apt;

namespace PeerPatch.Node.Tests.Protocol.Apt;

/// <summary>
/// One key per archive file, whatever spelling a client sends: a Packages <c>Filename:</c> field and every escaped
/// spelling of it canonicalize to the same string, and every traversal spelling is refused.
/// </summary>
public sealed class ArchivePathTests
{
    private static readonly Gen<char> Lower = Gen.Elements("abcdefghijklmnopqrstuvwxyz".ToCharArray());
    private static readonly Gen<char> Digit = Gen.Elements("0123456789".ToCharArray());
    private static readonly Gen<char> AlphaNum = Gen.Elements("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".ToCharArray());

    private static Gen<string> Word(Gen<char> first, Gen<char> rest, int max) =>
        from f in first
        from n in Gen.Choose(0, max)
        from r in Gen.ArrayOf(rest, n)
        select f + new string(r);

    // Debian policy: package names [a-z0-9][a-z0-9+.-]+; versions [epoch:]upstream[-revision] with upstream
    // [0-9][A-Za-z0-9.+~-]* (and ':' only with an epoch), revision [A-Za-z0-9+.~]+.
    private static readonly Gen<string> PackageName =
        Word(Gen.OneOf(Lower, Digit), Gen.OneOf(Lower, Digit, Gen.Elements('+', '.', '-')), 20).Where(n => n.Length >= 2);

    private static readonly Gen<string> Version =
        from epoch in Gen.OneOf(Gen.Constant(string.Empty), Gen.Choose(0, 99).Select(e => e + ":"))
        from upstream in Word(Digit, Gen.OneOf(AlphaNum, Gen.Elements('.', '+', '~', '-')), 16)
        from revision in Gen.OneOf(Gen.Constant(string.Empty), Word(AlphaNum, Gen.OneOf(AlphaNum, Gen.Elements('+', '.', '~')), 12).Select(r => "-" + r))
        select epoch + upstream + revision;

    private static readonly Gen<string> Arch = Gen.Elements("amd64", "arm64", "armhf", "i386", "all", "ppc64el", "s390x", "riscv64", "hurd-i386", "kfreebsd-amd64");

    /// <summary>A Filename field as a Packages index writes it (the version with its epoch or without, as in real pools).</summary>
    private static readonly Gen<string> Filename =
        from component in Gen.Elements("main", "contrib", "non-free", "non-free-firmware", "main/debian-installer", "updates/main")
        from source in PackageName
        from name in PackageName
        from version in Version
        from keepEpoch in Gen.Elements(false, false, true)
        from arch in Arch
        from ext in Gen.Elements(".deb", ".udeb", ".dsc", ".tar.xz", ".debian.tar.gz", ".diff.gz")
        let v = keepEpoch || !version.Contains(':', StringComparison.Ordinal) ? version : version[(version.IndexOf(':', StringComparison.Ordinal) + 1)..]
        let prefix = source.StartsWith("lib", StringComparison.Ordinal) && source.Length > 3 ? source[..4] : source[..1]
        select $"pool/{component}/{prefix}/{source}/{name}_{v}_{arch}{ext}";

    /// <summary>Each byte of the UTF-8 form left as it is, or escaped with upper- or lower-case hex.</summary>
    private static Gen<string> Spelling(string literal) =>
        from choices in Gen.ArrayOf(Gen.Choose(0, 2), Encoding.UTF8.GetByteCount(literal))
        from slash in Gen.Elements(string.Empty, "/")
        select slash + Spell(Encoding.UTF8.GetBytes(literal), choices);

    private static string Spell(byte[] bytes, int[] choices)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < bytes.Length; i++)
        {
            _ = choices[i] switch
            {
                0 when bytes[i] != (byte)'%' => sb.Append((char)bytes[i]),
                1 => sb.Append('%').Append(bytes[i].ToString("x2", System.Globalization.CultureInfo.InvariantCulture)),
                _ => sb.Append('%').Append(bytes[i].ToString("X2", System.Globalization.CultureInfo.InvariantCulture)),
            };
        }

        return sb.ToString();
    }

    [Fact]
    public void AFilenameField_HasTheKeyOfEverySpellingAClientCanSend()
    {
        var cases = from filename in Filename from spelling in Spelling(filename) select (filename, spelling);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            Assert.True(ArchivePath.TryCanonicalizeLiteral(c.filename, out var key), c.filename);
            Assert.True(ArchivePath.TryCanonicalize(c.spelling, out var requested), c.spelling);
            Assert.Equal(key, requested);
            Assert.True(ArchivePath.IsCanonical(key)); // idempotent: the key is itself a request path with that key
            Assert.Matches("^(/([A-Za-z0-9._~-]|%[0-9A-F]{2})+)+$", key);
            Assert.Equal(c.filename.Split('/')[^1], ArchivePath.FileName(key));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [Fact]
    public void AptsOwnSpellingsOfRealFiles_MatchTheirFilenameFields()
    {
        // As apt 2.6 sends them (seen in an upstream's access log) against the Filename fields of Debian 12's indexes.
        (string Field, string Request)[] real =
        [
            ("pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb", "/pool/main/g/glibc/libc6_2.36-9%2bdeb12u14_amd64.deb"),
            ("pool/main/t/tzdata/tzdata_2025b-0+deb12u2_all.deb", "/pool/main/t/tzdata/tzdata_2025b-0%2bdeb12u2_all.deb"),
            ("pool/main/v/vim/vim-tiny_2:9.0.1378-2+deb12u2_amd64.deb", "/pool/main/v/vim/vim-tiny_2%3a9.0.1378-2%2bdeb12u2_amd64.deb"),
            ("pool/main/c/curl/libcurl4_7.88.1-10+deb12u14_amd64.deb", "/debian-security/../pool/x"),
            ("pool/main/g/gcc-12/libstdc++6_12.2.0-14+deb12u1_amd64.deb", "/pool/main/g/gcc-12/libstdc%2b%2b6_12.2.0-14%2bdeb12u1_amd64.deb"),
            ("pool/main/o/openssl/openssl_3.0.17-1~deb12u3_amd64.deb", "/pool/main/o/openssl/openssl_3.0.17-1%7edeb12u3_amd64.deb"),
        ];
        foreach (var (field, request) in real)
        {
            Assert.True(ArchivePath.TryCanonicalizeLiteral(field, out var key));
            if (request.Contains("..", StringComparison.Ordinal))
            {
                Assert.False(ArchivePath.TryCanonicalize(request, out _));
                continue;
            }

            Assert.True(ArchivePath.TryCanonicalize(request, out var requested));
            Assert.Equal(key, requested);
        }

        Assert.True(ArchivePath.TryCanonicalizeLiteral("pool/main/v/vim/vim-tiny_2:9.0.1378-2+deb12u2_amd64.deb", out var epoch));
        Assert.Equal("/pool/main/v/vim/vim-tiny_2%3A9.0.1378-2%2Bdeb12u2_amd64.deb", epoch);
    }

    // Ways to write a segment that climbs or stays, an empty one, or a byte no archive path has.
    private static readonly Gen<string> Hostile = Gen.Elements("..", ".", string.Empty, "a\\b", "a\0b", "a\nb", "a\rb", "a\tb", "a\u007fb", "a?b", "a#b");

    [Fact]
    public void TraversalAndControlSpellings_AreRefused_HoweverEscaped()
    {
        var cases =
            from filename in Filename
            from hostile in Hostile
            from spelledHostile in Spelling(hostile).Select(s => s.TrimStart('/'))
            let segments = filename.Split('/')
            from at in Gen.Choose(0, segments.Length)
            from prefixSlash in Gen.Elements(string.Empty, "/")
            from slashSpelling in Gen.Elements("/", "%2f", "%2F")
            where !(hostile.Length == 0 && at == 0 && prefixSlash.Length == 0) // "" then "/pool": just a leading slash
            let parts = segments.Take(at).Append(spelledHostile).Concat(segments.Skip(at))
            select prefixSlash + string.Join(slashSpelling, parts);
        Prop.ForAll(cases.ToArbitrary(), raw =>
        {
            Assert.False(ArchivePath.TryCanonicalize(raw, out var canonical), $"{raw} -> {canonical}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("//pool/x.deb")]
    [InlineData("/pool/x.deb/")]
    [InlineData("/pool/%2e%2e/x.deb")]
    [InlineData("/pool/%2E./x.deb")]
    [InlineData("/pool/..%2fetc/passwd")]
    [InlineData("/pool/..%5cetc")]
    [InlineData("/pool/%00x.deb")]
    [InlineData("/pool/x%")]
    [InlineData("/pool/x%4")]
    [InlineData("/pool/x%zz.deb")]
    [InlineData("/pool/x.deb?y=1")]
    [InlineData("/pool/x.deb%3fy=1")]
    public void MalformedOrClimbingPaths_AreRefused(string raw) => Assert.False(ArchivePath.TryCanonicalize(raw, out _));

    [Fact]
    public void OverLongInput_IsRefused()
    {
        var longest = "/" + new string('a', ArchivePath.MaxLength - 1);
        Assert.True(ArchivePath.TryCanonicalize(longest, out _));
        Assert.False(ArchivePath.TryCanonicalize(longest + "a", out _));
        Assert.False(ArchivePath.TryCanonicalizeLiteral(longest + "a", out _));
    }

    [Fact]
    public void APercentSignInALiteralName_IsAPercentSign()
    {
        Assert.True(ArchivePath.TryCanonicalizeLiteral("pool/a%2bb.deb", out var literal));
        Assert.True(ArchivePath.TryCanonicalize("/pool/a%252bb.deb", out var escaped));
        Assert.Equal("/pool/a%252bb.deb", literal);
        Assert.Equal(literal, escaped);
        Assert.True(ArchivePath.TryCanonicalize("/pool/a%2bb.deb", out var plus));
        Assert.NotEqual(literal, plus);
    }

    [Fact]
    public void CanonicalPaths_Concatenate()
    {
        Assert.True(ArchivePath.TryCanonicalize("/debian%2dsecurity", out var root));
        Assert.True(ArchivePath.TryCanonicalizeLiteral("pool/updates/main/o/openssl/libssl3_3.0.17-1~deb12u3_amd64.deb", out var file));
        Assert.True(ArchivePath.IsCanonical(root + file));
        Assert.True(ArchivePath.TryCanonicalize("/debian-security/pool/updates/main/o/openssl/libssl3_3.0.17-1%7edeb12u3_amd64.deb", out var whole));
        Assert.Equal(root + file, whole);
    }
}
