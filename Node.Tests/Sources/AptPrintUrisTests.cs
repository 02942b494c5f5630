using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Tests.Sources;

public sealed class AptPrintUrisTests
{
    /// <summary>Lines apt 2.6 printed on this machine: an MD5, and nothing at all for a package of the security archive (its index has no MD5).</summary>
    private const string RealOutput = """
        'http://deb.debian.org/debian/pool/main/libc/libcap2/libcap2_2.66-4%2bdeb12u3%2bb1_amd64.deb' libcap2_1%3a2.66-4+deb12u3+b1_amd64.deb 27708 MD5Sum:f3075bfe2ad69652ced08bf6c85b461a
        'http://deb.debian.org/debian-security/pool/updates/main/x/xz-utils/liblzma5_5.4.1-1%2bdeb12u2_amd64.deb' liblzma5_5.4.1-1+deb12u2_amd64.deb 205796 
        'http://deb.debian.org/debian-security/pool/updates/main/p/pam/libpam0g_1.5.2-6%2bdeb12u3_amd64.deb' libpam0g_1.5.2-6+deb12u3_amd64.deb 92412
        """;

    [Fact]
    public void ADownloadWithAnMd5OrNoHashAtAll_IsListed_ForItsSha256ToBeFoundInTheLists()
    {
        var (downloads, rejected) = AptPrintUris.Read(RealOutput);
        Assert.Empty(rejected);
        Assert.Equal(["libcap2_1%3a2.66-4+deb12u3+b1_amd64.deb", "liblzma5_5.4.1-1+deb12u2_amd64.deb", "libpam0g_1.5.2-6+deb12u3_amd64.deb"], downloads.Select(d => d.Filename));
        Assert.Equal([27708L, 205796L, 92412L], downloads.Select(d => d.Size));
        Assert.All(downloads, d => Assert.Null(d.Sha256));
        Assert.Equal("libcap2_2.66-4+deb12u3+b1_amd64.deb", AptSource.PatchName(downloads[0]));
    }

    [Fact]
    public void EveryLineThatLooksLikeADownload_IsListedOrRejectedWithAReason_NeverDropped()
    {
        var junk = Gen.Elements("'", "' ", "x", " ", "12", "SHA256:", "http://h/a.deb", "a.deb", "''", "\t", "%2b", "-1", "99999999999999999999", "MD5Sum:ab", "../", "file:/x");
        var lines = from parts in Gen.ArrayOf(junk, 6) select "'" + string.Concat(parts);
        Prop.ForAll(Gen.ArrayOf(lines, 5).ToArbitrary(), ls =>
        {
            var (downloads, rejected) = AptPrintUris.Read(string.Join('\n', ls));
            Assert.Equal(ls.Length, downloads.Count + rejected.Count);
            Assert.All(downloads, d => Assert.True(PeerPatch.Protocol.WireFormat.IsPatchName(d.Filename) && !d.Filename.Contains('/', StringComparison.Ordinal)));
            Assert.All(rejected, r => Assert.False(string.IsNullOrEmpty(r.Reason)));
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }
}
