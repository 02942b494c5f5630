using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Redirect;

namespace PeerPatch.Node.Tests.Redirect;

public sealed class HostsFileTests
{
    // Hosts-file-like text: lines of letters, digits, spaces, tabs and '#', joined by \n or \r\n, with or without a final newline.
    private static readonly Gen<string> Content =
        from lines in Gen.ListOf(Gen.Elements("127.0.0.1 localhost", "::1 ip6-localhost", "# comment", "", "\t10.0.0.5  files.lan files", "   ", "192.168.1.2 printer # office"))
        from crlf in Gen.Elements(false, true)
        from final in Gen.Elements(false, true)
        let eol = crlf ? "\r\n" : "\n"
        select string.Join(eol, lines) + (final && lines.Count > 0 ? eol : string.Empty);

    private static readonly Gen<IReadOnlyList<(string, string)>> Entries =
        from n in Gen.Choose(1, 4)
        from domains in Gen.ListOf(Gen.Elements("deb.debian.org", "security.debian.org", "updates.example.com", "archive.ubuntu.com"), n)
        select (IReadOnlyList<(string, string)>)domains.Distinct().Select(d => ("127.0.0.1", d)).ToList();

    [Fact]
    public void AddingThenRemovingTheBlock_GivesBackTheOriginalBytes()
    {
        Prop.ForAll(Content.ToArbitrary(), Entries.ToArbitrary(), Entries.ToArbitrary(), (content, first, second) =>
        {
            var enabled = HostsFile.WithEntries(content, first);
            Assert.Equal(first, HostsFile.Entries(enabled));
            Assert.StartsWith(content, enabled, StringComparison.Ordinal); // the original lines are untouched, the block follows
            var changed = HostsFile.WithEntries(enabled, second); // enabling again replaces the block (idempotent edit)
            Assert.Equal(second, HostsFile.Entries(changed));
            Assert.Equal(HostsFile.WithEntries(content, second), changed);
            Assert.Equal(content, HostsFile.Without(changed));
            Assert.Equal(content, HostsFile.WithEntries(changed, []));
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void BlockUsesTheFilesLineEnding_AndMarksANewlineItHadToAdd()
    {
        var crlf = HostsFile.WithEntries("127.0.0.1 localhost\r\n", [("127.0.0.1", "deb.debian.org")]);
        Assert.Equal("127.0.0.1 localhost\r\n# BEGIN peerpatch redirect\r\n127.0.0.1 deb.debian.org\r\n# END peerpatch redirect\r\n", crlf);

        var noFinalNewline = HostsFile.WithEntries("127.0.0.1 localhost", [("10.0.0.9", "deb.debian.org")]);
        Assert.Equal("127.0.0.1 localhost\n# BEGIN peerpatch redirect (newline added)\n10.0.0.9 deb.debian.org\n# END peerpatch redirect\n", noFinalNewline);
        Assert.Equal("127.0.0.1 localhost", HostsFile.Without(noFinalNewline));
    }

    [Fact]
    public void ADamagedBlock_IsLeftAlone()
    {
        var damaged = "127.0.0.1 localhost\n# BEGIN peerpatch redirect\n127.0.0.1 deb.debian.org\n";
        Assert.Empty(HostsFile.Entries(damaged));
        Assert.Equal(damaged, HostsFile.Without(damaged));
    }

    [Fact]
    public void ADuplicatedBlock_IsReadWhole_AndDisableRemovesEveryCopy()
    {
        // A block copied by hand, or left by a restore from an old backup: disable must not leave a redirect behind.
        var twice = "127.0.0.1 localhost\n# BEGIN peerpatch redirect\n127.0.0.1 a.example.com\n# END peerpatch redirect\n10.0.0.9 nas\n"
            + "# BEGIN peerpatch redirect\n127.0.0.1 b.example.com\n# END peerpatch redirect\n";

        Assert.Equal([("127.0.0.1", "a.example.com"), ("127.0.0.1", "b.example.com")], HostsFile.Entries(twice));
        Assert.Equal("127.0.0.1 localhost\n10.0.0.9 nas\n", HostsFile.Without(twice));
        Assert.Equal("127.0.0.1 localhost\n10.0.0.9 nas\n", HostsFile.WithEntries(twice, []));
        Assert.Equal([("127.0.0.1", "c.example.com")], HostsFile.Entries(HostsFile.WithEntries(twice, [("127.0.0.1", "c.example.com")])));
    }

    // Any hosts file without a complete PeerPatch block: its own lines may be a stray marker (a block whose other marker
    // an admin deleted), a BOM, Latin-1 bytes or a lone CR.
    private static readonly Gen<string> AnyContent =
        from lines in Gen.ListOf(Gen.Elements("127.0.0.1 localhost", "# comment", "", "10.0.0.9 nas.lan", "\uFEFF# bom", "# caf\u00e9 \u00ff", "x\r",
            HostsFile.Begin, HostsFile.Begin + HostsFile.AddedNewline, HostsFile.End, "127.0.0.1 deb.debian.org"))
        from crlf in Gen.Elements(false, true)
        from final in Gen.Elements(false, true)
        let eol = crlf ? "\r\n" : "\n"
        let text = string.Join(eol, lines) + (final && lines.Count > 0 ? eol : string.Empty)
        where HostsFile.Without(text) == text // no complete block: a file PeerPatch never wrote to (or cleaned)
        select text;

    [Fact]
    public void EnableThenDisable_GivesBackAnyFileWithoutACompleteBlock_ByteForByte_AndReadsOnlyItsOwnEntries()
    {
        Prop.ForAll(AnyContent.ToArbitrary(), Entries.ToArbitrary(), (content, entries) =>
        {
            var enabled = HostsFile.WithEntries(content, entries);
            Assert.Equal(entries, HostsFile.Entries(enabled));
            Assert.Equal(content, HostsFile.Without(enabled));
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Fact]
    public void ADamagedBlockAboveTheNewOne_KeepsItsLines_WhenTheRedirectIsDisabled()
    {
        // An admin deleted the END line of an old block and added a line of their own below it.
        var damaged = "127.0.0.1 localhost\n# BEGIN peerpatch redirect\n10.0.0.9 nas.lan\n";
        var enabled = HostsFile.WithEntries(damaged, [("127.0.0.1", "deb.debian.org")]);

        Assert.Equal([("127.0.0.1", "deb.debian.org")], HostsFile.Entries(enabled)); // before: nas.lan read as redirected too
        Assert.Equal(damaged, HostsFile.Without(enabled)); // before: "127.0.0.1 localhost\n", the admin's nas.lan line deleted
    }

    [Theory]
    [InlineData("# BEGIN peerpatch redirect (newline added)\n127.0.0.1 deb.debian.org\n# END peerpatch redirect\n", "")] // the lines above it deleted by hand
    [InlineData("127.0.0.1 localhost\n# BEGIN peerpatch redirect (newline added)\r\n127.0.0.1 deb.debian.org\r\n# END peerpatch redirect\r\n", "127.0.0.1 localhost")] // line ends converted above it only
    public void ABlockWhoseAddedNewlineIsGone_IsRemovedWithoutThrowingOrEatingAByteBeforeIt(string content, string expected)
    {
        Assert.Equal(expected, HostsFile.Without(content)); // before: ArgumentOutOfRangeException; "127.0.0.1 localhos"
        Assert.Equal(expected, HostsFile.WithEntries(content, []));
    }

    [Theory]
    [InlineData("deb.debian.org", true)]
    [InlineData("localhost", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("a b.com", false)]
    [InlineData("evil.com\n1.2.3.4 bank.com", false)]
    [InlineData("x.com#", false)]
    public void OnlyPlainDomainNamesAreAccepted(string domain, bool ok) => Assert.Equal(ok, HostsFile.IsDomain(domain));
}
