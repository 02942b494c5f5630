using PeerPatch.Protocol;

namespace PeerPatch.Node.Tests.Protocol;

public sealed class WireFormatTests
{
    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("0123", false)]
    [InlineData(null, false)]
    public void Sha256_MustBe64LowercaseHexDigits(string? value, bool valid) => Assert.Equal(valid, WireFormat.IsSha256(value));

    [Theory]
    [InlineData("KB5031356", true)]
    [InlineData("../../etc/passwd", true)]
    [InlineData("libssl3_3.0.11-1~deb12u2_amd64.deb", true)]
    [InlineData("", false)]
    [InlineData("tab\tin", false)]
    public void PatchNames_AreOpaqueData_WithoutControlCharacters(string value, bool valid) => Assert.Equal(valid, WireFormat.IsPatchName(value));

    [Fact]
    public void PatchNameWithALoneSurrogate_IsRefused()
    {
        // Built at run time: an attribute argument cannot carry a lone surrogate (it is stored as U+FFFD).
        var name = "lone" + (char)0xD800 + "surrogate";

        Assert.False(WireFormat.IsPatchName(name));
    }

    [Fact]
    public void PatchNameLongerThanTheLimit_IsRefused() =>
        Assert.False(WireFormat.IsPatchName(new string('a', ProtocolLimits.MaxPatchNameLength + 1)));

    [Theory]
    [InlineData("debian-12-amd64", true)]
    [InlineData("ubuntu-24.04-amd64", true)]
    [InlineData("Debian-12", false)]
    [InlineData("-x", false)]
    [InlineData("a/b", false)]
    public void OsVersionKeys_AreLowercaseTokens(string value, bool valid) => Assert.Equal(valid, WireFormat.IsOsVersion(value));

    [Theory]
    [InlineData("/v1/blobs/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("http://10.0.0.5:47471/v1/blobs/x", true)]
    [InlineData("file:///etc/passwd", false)]
    [InlineData("/etc/passwd", false)]
    public void BlobUrls_AreHttpOrOurRelativePath(string value, bool valid) => Assert.Equal(valid, WireFormat.IsBlobUrl(value));
}
