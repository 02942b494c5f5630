using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Apt;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Tests.Sources;

public sealed class CappedLineReaderTests
{
    [Fact]
    public void EveryLineComesBack_CutToTheCap_WhateverItsLengthOrEnding()
    {
        var cases =
            from lengths in Gen.ListOf(Gen.OneOf(Gen.Choose(0, 40), Gen.Choose(0, 40), Gen.Choose(0, 40_000)))
            from cap in Gen.Choose(1, 100)
            from crlf in Gen.Elements(false, true)
            from finalNewline in Gen.Elements(false, true)
            select (lengths, cap, crlf, finalNewline);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var lines = c.lengths.Select((n, i) => new string((char)('a' + (i % 26)), n)).ToList();
            var eol = c.crlf ? "\r\n" : "\n";
            var text = string.Join(eol, lines) + (c.finalNewline && lines.Count > 0 ? eol : "");
            using var reader = new CappedLineReader(new StringReader(text), c.cap);
            var read = new List<string>();
            while (reader.ReadLine() is { } line)
            {
                read.Add(line);
            }

            // StringReader is the reference for where lines end; the cap cuts each.
            var expected = new List<string>();
            var longer = 0;
            using (var reference = new StringReader(text))
            {
                while (reference.ReadLine() is { } line)
                {
                    expected.Add(line.Length > c.cap ? line[..c.cap] : line);
                    longer += line.Length > c.cap ? 1 : 0;
                }
            }

            Assert.Equal(expected, read);
            Assert.Equal(longer, reader.CutLines);
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public void APackagesListWithA75KbLine_YieldsThePackagesAfterIt()
    {
        // As in Debian 12's main list: librust-winapi-dev's Provides: line is 75,649 bytes long.
        var provides = "Provides: " + string.Join(", ", Enumerable.Range(0, 3000).Select(i => $"librust-winapi+feature{i}-dev (= 0.3.9-1+b1)"));
        var sha = new string('a', 64);
        var list = $"Package: librust-winapi-dev\n{provides}\nFilename: pool/main/r/rust-winapi/librust-winapi-dev_0.3.9-1+b1_amd64.deb\nSize: 10\nSHA256: {sha}\n\n"
                   + $"Package: sed\nFilename: pool/main/s/sed/sed_4.9-1+deb12u1_amd64.deb\nSize: 329092\nSHA256: {sha}\n";
        Assert.True(provides.Length > 64 * 1024);

        using var capped = new CappedLineReader(new StringReader(list), 8 * 1024);
        Assert.Equal(["pool/main/r/rust-winapi/librust-winapi-dev_0.3.9-1+b1_amd64.deb", "pool/main/s/sed/sed_4.9-1+deb12u1_amd64.deb"], AptPackagesParser.Parse(capped).Select(p => p.Filename));
        Assert.Equal(1, capped.CutLines);

        // The parser caps lines itself, so the apt proxy's catalog (which hands it a plain reader) learns them too.
        Assert.Equal(2, AptPackagesParser.Parse(new StringReader(list)).Count());
    }
}
