using PeerPatch.Node.Apt;
using PeerPatch.Protocol.Apt;

namespace PeerPatch.Node.Tests.Protocol.Apt;

public sealed class ArchiveUrlTests
{
    [Theory]
    [InlineData("http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9%2bdeb12u14_amd64.deb", "http://deb.debian.org:80/debian/pool/main/g/glibc/libc6_2.36-9%2Bdeb12u14_amd64.deb")]
    [InlineData("http://DEB.Debian.ORG:80/debian/pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb", "http://deb.debian.org:80/debian/pool/main/g/glibc/libc6_2.36-9%2Bdeb12u14_amd64.deb")]
    [InlineData("HTTP://deb.debian.org./debian/pool/main/g/glibc/libc6_2.36-9%2Bdeb12u14_amd64.deb", "http://deb.debian.org:80/debian/pool/main/g/glibc/libc6_2.36-9%2Bdeb12u14_amd64.deb")]
    [InlineData("http://[FD00::5]:3142/debian/dists/x/InRelease", "http://[fd00::5]:3142/debian/dists/x/InRelease")]
    [InlineData("http://127.0.0.1:8080/a/b%7ec.deb", "http://127.0.0.1:8080/a/b~c.deb")]
    public void EverySpellingOfOneFile_HasOneKey(string raw, string key)
    {
        Assert.True(ArchiveUrl.TryParseAbsolute(raw, out var url));
        Assert.Equal(key, url.Key);
        Assert.Equal(url.Path, url.ToUri().PathAndQuery); // and the upstream is asked for that spelling
    }

    [Theory]
    [InlineData("http://user:pw@deb.debian.org/debian/dists/x/InRelease")] // credentials in the authority
    [InlineData("http://deb.debian.org:0/x.deb")]
    [InlineData("http://deb.debian.org:65536/x.deb")]
    [InlineData("http://deb.debian.org:-1/x.deb")]
    [InlineData("http://deb debian.org/x.deb")]
    [InlineData("http://[not-v6]/x.deb")]
    [InlineData("http://deb.debian.org")]
    [InlineData("http://deb.debian.org?x")]
    [InlineData("http://deb.debian.org/")]
    [InlineData("http://deb.debian.org/debian/../etc/passwd")]
    [InlineData("http://deb.debian.org/debian/%2e%2e/etc/passwd")]
    [InlineData("http://deb.debian.org/debian/x%00.deb")]
    [InlineData("http://deb.debian.org/x.deb?a\nb")]
    [InlineData("https://deb.debian.org/x.deb")] // HTTPS comes as CONNECT, never as an absolute-form GET
    [InlineData("ftp://deb.debian.org/x.deb")]
    [InlineData("/x.deb")]
    public void HostileTargets_AreRefused(string raw) => Assert.False(ArchiveUrl.TryParseAbsolute(raw, out _));

    [Fact]
    public void OverLongTargets_AreRefused() =>
        Assert.False(ArchiveUrl.TryParseAbsolute("http://h/" + new string('a', 5000) + ".deb", out _));

    [Theory]
    [InlineData("deb.example.test", "/debian/pool/a.deb", true)]
    [InlineData("deb.example.test:80", "/debian/pool/a.deb", true)]
    [InlineData("deb.example.test:8080", "/admin", false)]
    [InlineData("deb.example.test:6379", "/debian/pool/a.deb", false)]
    public void ATransparentRequest_OnlyEverTargetsPort80OfTheRedirectedDomain(string host, string target, bool accepted)
    {
        var ctx = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        ctx.Request.Host = new Microsoft.AspNetCore.Http.HostString(host);
        ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget = target;

        var url = AptProxy.TransparentTarget(ctx);

        Assert.Equal(accepted, url is not null);
        Assert.True(url is null || url.Port == 80);
    }
}
