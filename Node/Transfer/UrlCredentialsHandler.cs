using System.Net.Http.Headers;
using System.Text;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// Sends the credentials of a URL written as <c>https://user:password@host/...</c> (a feed, its patch files) as HTTP
/// Basic authentication, as curl and apt do; .NET's handler ignores a URL's user information. Only requests whose
/// URL carries them get the header, and an Authorization header already set wins. Everything that publishes or logs
/// such a URL masks the credentials (<see cref="Protocol.Text.SecretRedaction"/>).
/// </summary>
internal sealed class UrlCredentialsHandler : DelegatingHandler
{
    public UrlCredentialsHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Headers.Authorization is null && request.RequestUri is { IsAbsoluteUri: true, UserInfo.Length: > 0 } uri)
        {
            request.Headers.Authorization = BasicFor(uri.UserInfo);
        }

        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>The Basic header for "user[:password]" (each part percent-decoded, as RFC 3986 writes them).</summary>
    internal static AuthenticationHeaderValue BasicFor(string userInfo)
    {
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        var user = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
        var password = colon < 0 ? string.Empty : Uri.UnescapeDataString(userInfo[(colon + 1)..]);
        return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
    }
}
