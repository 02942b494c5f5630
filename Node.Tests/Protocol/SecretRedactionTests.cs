using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Protocol.Text;

namespace PeerPatch.Node.Tests.Protocol;

/// <summary>URL secrets (issue 19, secrets stay secret): user information and token-like query values are masked.</summary>
public sealed class SecretRedactionTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(2000);

    /// <summary>Passwords as they appear in URLs: anything but the characters that end the user information.</summary>
    private static readonly Arbitrary<string> Passwords = Gen.Elements("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:%".ToCharArray())
        .ArrayOf()
        .Where(a => a.Length >= 6)
        .Select(a => "Pw" + new string(a))
        .ToArbitrary();

    [Theory]
    [InlineData("https://alice:s3cret@feeds.example.com/feeds/{os}.json", "https://***@feeds.example.com/feeds/{os}.json")]
    [InlineData("http://token@h:8080", "http://***@h:8080")]
    [InlineData("https://h/f.json?os=x&token=abc&x=1#frag", "https://h/f.json?os=x&token=***&x=1#frag")]
    [InlineData("https://b.s3.amazonaws.com/k?X-Amz-Credential=AK&X-Amz-Signature=ff&X-Amz-Expires=60", "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=60")]
    [InlineData("https://a.blob.core.windows.net/c/f?sv=2020&sig=abc%2Fdef", "https://a.blob.core.windows.net/c/f?sv=2020&sig=***")]
    [InlineData("https://h/x?api_key=1&key=2&access_token=3&password=4", "https://h/x?api_key=***&key=***&access_token=***&password=***")]
    [InlineData("https://h/a@b?c=d", "https://h/a@b?c=d")] // an @ in the path is not user information
    [InlineData("http://h/plain", "http://h/plain")]
    [InlineData("not a url", "not a url")]
    public void RedactUrl_MasksUserInformationAndTokenValues(string url, string expected) => Assert.Equal(expected, SecretRedaction.RedactUrl(url));

    [Fact]
    public void RedactText_MasksEveryUrlInFreeText() => Assert.Equal(
        "patch source manifest:https://***@h/{os}.json failed; see http://***@mirror/x?token=*** or 'https://***@q/'",
        SecretRedaction.RedactText("patch source manifest:https://u:p4ss@h/{os}.json failed; see http://me@mirror/x?token=t0k or 'https://a:b@q/'"));

    [Fact]
    public void NoPasswordSurvives_InTheUserInformation_OrATokenParameter() =>
        Prop.ForAll(Passwords, password =>
        {
            var url = $"https://user:{password}@feeds.example.com:8443/{{os}}.json?os=1&token={Uri.EscapeDataString(password)}";
            var redacted = SecretRedaction.RedactText($"feed {url} failed")!;
            Assert.DoesNotContain(password, redacted, StringComparison.Ordinal);
            Assert.DoesNotContain(Uri.EscapeDataString(password), redacted, StringComparison.Ordinal);
            Assert.Equal("feed https://***@feeds.example.com:8443/{os}.json?os=1&token=*** failed", redacted);
        }).Check(Many);

    [Fact]
    public void UrlsWithoutSecrets_AreUnchanged() =>
        Prop.ForAll(Gen.Elements("abcxyz0189-._~/%!$()*+,;=:".ToCharArray()).ArrayOf().Select(a => new string(a)).ToArbitrary(), path =>
        {
            var url = $"http://mirror.example/debian/{path}?os=debian-12&arch=amd64";
            Assert.Equal(url, SecretRedaction.RedactUrl(url));
            Assert.Equal($"get {url} done", SecretRedaction.RedactText($"get {url} done"));
        }).Check(Many);
}
