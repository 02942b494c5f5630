using PeerPatch.Node.Apt;
using PeerPatch.Node.Sources;
using PeerPatch.Protocol.Apt;

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
    [InlineData("/debian/dists/bookworm/main/binary-amd64/Packages.gz", "/debian")]
    [InlineData("/dists/stable/main/binary-amd64/Packages", "")]
    [InlineData("/flat/repo/Packages", "/flat/repo")]
    public void ArchiveRoot_IsThePartBeforeDists_OrAFlatRepositorysDirectory(string index, string root) =>
        Assert.Equal(root, AptCatalog.ArchiveRoot(index));

    [Theory]
    [InlineData("http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz", "pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb", "http://deb.debian.org:80/debian/pool/main/g/glibc/libc6_2.36-9%2Bdeb12u14_amd64.deb")]
    [InlineData("http://Mirror.LAN:8080/dists/stable/main/binary-amd64/by-hash/SHA256/ab12", "pool/v/vim_2:9.0_amd64.deb", "http://mirror.lan:8080/pool/v/vim_2%3A9.0_amd64.deb")]
    public void AFilenameFieldsKey_IsTheKeyOfAptsRequestForIt(string index, string filename, string request)
    {
        Assert.True(ArchiveUrl.TryParseAbsolute(index, out var indexUrl));
        Assert.True(ArchiveUrl.TryParseAbsolute(request.Replace("%2B", "%2b", StringComparison.Ordinal).Replace("%3A", "%3a", StringComparison.Ordinal), out var requested));
        Assert.Equal(requested.Key, AptCatalog.KeyOf(indexUrl, filename));
        Assert.Equal(request, requested.Key);
    }

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
