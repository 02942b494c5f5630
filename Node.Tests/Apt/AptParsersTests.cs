using PeerPatch.Node.Apt;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Tests.Apt;

public sealed class AptParsersTests
{
    private const string Sha = "961f2b6d9bbf722a95ce43f1e195181a937b2d636e1b81784a6d6ea023269ea0";

    [Fact]
    public void PackagesIndex_YieldsFilenameSizeAndSha256_AndSkipsIncompleteOrUnsafeStanzas()
    {
        var index = $"""
            Package: ok
            Version: 1
            Filename: pool/main/o/ok/ok_1_all.deb
            Size: 628
            MD5sum: 13827217b740bd3a12a54b36596858d8
            SHA256: {Sha.ToUpperInvariant()}
            Description: first line
             continuation: Filename: not/this

            Package: nohash
            Filename: pool/n.deb
            Size: 1

            Package: climbs
            Filename: pool/../../etc/passwd
            Size: 1
            SHA256: {Sha}

            Package: absolute
            Filename: /etc/passwd
            Size: 1
            SHA256: {Sha}

            Package: badsize
            Filename: pool/b.deb
            Size: -4
            SHA256: {Sha}
            """;

        var files = AptPackagesParser.Parse(new StringReader(index)).ToList();

        Assert.Equal([new AptPackageFile("pool/main/o/ok/ok_1_all.deb", 628, Sha)], files);
    }

    [Theory]
    [InlineData("http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.gz", "http://deb.debian.org/debian/")]
    [InlineData("http://127.0.0.1:8080/dists/stable/main/binary-amd64/Packages", "http://127.0.0.1:8080/")]
    [InlineData("http://host/flat/repo/Packages", "http://host/flat/repo/")]
    public void ArchiveRoot_IsThePartBeforeDists_OrAFlatRepositorysDirectory(string index, string root) =>
        Assert.Equal(root, AptCatalog.ArchiveRoot(new Uri(index)));

    [Fact]
    public void PrintUris_ParsesDownloads_KeepsSha256_LeavesOtherHashesForTheLists_AndRejectsPaths()
    {
        var output = $"""
            Reading package lists...
            The following packages will be upgraded:
            'http://h/pool/a_1_all.deb' a_1_all.deb 100 SHA256:{Sha}
            'http://h/pool/b_2_all.deb' b_2_all.deb 200 MD5Sum:13827217b740bd3a12a54b36596858d8
            'file:/etc/c.deb' c.deb 5 SHA256:{Sha}
            'http://h/pool/d.deb' ../d.deb 5 SHA256:{Sha}
            """;

        var (downloads, errors) = AptPrintUris.Parse(output);

        Assert.Equal([new AptDownload(new Uri("http://h/pool/a_1_all.deb"), "a_1_all.deb", 100, Sha), new AptDownload(new Uri("http://h/pool/b_2_all.deb"), "b_2_all.deb", 200, null)], downloads);
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("c.deb: not an http(s) URL", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("../d.deb: not a plain file name", StringComparison.Ordinal));
    }
}
