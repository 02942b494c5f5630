using System.Text;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Tests.Sources;

public sealed class ManifestFeedTests
{
    private const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Fact]
    public void TheContractFeed_Parses()
    {
        var feed = $$$"""
            {"os":"debian-12-amd64",
             "patches":[{"name":"KB5031356","url":"http://host/path/file","sha256":"{{{Sha.ToUpperInvariant()}}}","size":1234,
                         "apply":{"command":"/bin/sh","args":["{file}"],"timeoutSeconds":60}}]}
            """;

        var patch = Assert.Single(ManifestFeed.Parse(Encoding.UTF8.GetBytes(feed), "debian-12-amd64", long.MaxValue));

        Assert.Equal("KB5031356", patch.Name);
        Assert.Equal(Sha, patch.Sha256);
        Assert.Equal(1234, patch.Size);
        Assert.Equal("/bin/sh", patch.Apply.Command);
        Assert.Equal(["{file}"], patch.Apply.Args);
        Assert.Equal(TimeSpan.FromSeconds(60), patch.Apply.Timeout);
    }

    [Theory]
    [InlineData("""{"os":"debian-12-amd64","patches":[{"name":"A","url":"http://h/a","sha256":"abc","size":1,"apply":{"command":"/bin/true"}}]}""", "sha256")]
    [InlineData("""{"os":"debian-12-amd64","patches":[{"name":"A","url":"file:///etc/passwd","sha256":"SHA","size":1,"apply":{"command":"/bin/true"}}]}""", "url")]
    [InlineData("""{"os":"debian-12-amd64","patches":[{"name":"A","url":"http://h/a","sha256":"SHA","size":-1,"apply":{"command":"/bin/true"}}]}""", "size")]
    [InlineData("""{"os":"debian-12-amd64","patches":[{"name":"A","url":"http://h/a","sha256":"SHA","size":1}]}""", "apply.command")]
    [InlineData("""{"os":"debian-12-amd64","patches":[{"name":"A","url":"http://h/a","sha256":"SHA","size":1,"apply":{"command":"/bin/true"}},{"name":"A","url":"http://h/a","sha256":"SHA","size":1,"apply":{"command":"/bin/true"}}]}""", "listed twice")]
    [InlineData("""{"os":"ubuntu-24.04-amd64","patches":[]}""", "this node is")]
    [InlineData("""{"os":"debian-12-amd64"}""", "\"patches\"")]
    [InlineData("""not json""", "not valid JSON")]
    public void BadFeeds_AreRefusedWithAReason(string feed, string reason)
    {
        var e = Assert.Throws<PatchSourceException>(() =>
            ManifestFeed.Parse(Encoding.UTF8.GetBytes(feed.Replace("SHA", Sha, StringComparison.Ordinal)), "debian-12-amd64", long.MaxValue));

        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void PatchLargerThanTheLimit_IsRefused()
    {
        var feed = $$$"""{"os":"o-1","patches":[{"name":"A","url":"http://h/a","sha256":"{{{Sha}}}","size":2000,"apply":{"command":"/bin/true"}}]}""";

        Assert.Throws<PatchSourceException>(() => ManifestFeed.Parse(Encoding.UTF8.GetBytes(feed), "o-1", 1000));
    }

    [Fact]
    public void DeeplyNestedJson_IsRefused_NotACrash()
    {
        var feed = "{\"os\":\"o-1\",\"patches\":" + new string('[', 5000) + new string(']', 5000) + "}";

        Assert.Throws<PatchSourceException>(() => ManifestFeed.Parse(Encoding.UTF8.GetBytes(feed), "o-1", 1000));
    }
}
