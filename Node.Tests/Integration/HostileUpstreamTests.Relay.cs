using PeerPatch.Node.Apt;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Redirect;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Updating;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>Issue 19 (see <see cref="HostileUpstreamTests"/>): the apt index relay and the transparent cache end within their bound against a broken origin.</summary>
[Trait("Category", "Network")]
public sealed class HostileUpstreamRelayTests(ITestOutputHelper output) : HostileUpstreamTests(output)
{
    [Theory]
    [MemberData(nameof(Modes))]
    public async Task BrokenAptIndexUpstream_TheRelayEndsWithinItsBound(HostileMode mode)
    {
        // The proxy relays only to listed origins (issue 19 part 6), and to this machine only when the admin lists it.
        await using var node = await StartNodeAsync(new() { [nameof(AptOptions.AptUpstreams) + ":0"] = _hostile.Url(mode, "").Authority });
        using var apt = new HttpClient(new SocketsHttpHandler { Proxy = new System.Net.WebProxy(node.Http), UseProxy = true, AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };

        var first = await RelayAsync(() => Fetch(apt, _hostile.Url(mode, "debian/dists/stable/InRelease")), "first request");
        var second = await RelayAsync(() => Fetch(apt, _hostile.Url(mode, "debian/dists/stable/Release")), "next request");
        Report(node, mode, "apt relay", first, second);

        Assert.True(first.Took < Bound && second.Took < Bound, $"the relay took {first.Took.TotalSeconds:0.0} s and {second.Took.TotalSeconds:0.0} s");
        AssertTimeoutLogged(node, mode);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task BrokenRedirectOrigin_TheTransparentCacheEndsWithinItsBound(HostileMode mode)
    {
        await using var node = await StartNodeAsync([]);
        var cache = node.Services.GetRequiredService<RedirectCache>();

        var first = await RelayAsync(() => Serve(cache, _hostile.Url(mode, "pool/a.deb")), "first request");
        var second = await RelayAsync(() => Serve(cache, _hostile.Url(mode, "pool/b.deb")), "next request");
        Report(node, mode, "redirect origin", first, second);

        Assert.True(first.Took < Bound && second.Took < Bound, $"the cache took {first.Took.TotalSeconds:0.0} s and {second.Took.TotalSeconds:0.0} s");
        AssertTimeoutLogged(node, mode);
    }
}
