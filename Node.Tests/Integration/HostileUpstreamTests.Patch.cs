using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Redirect;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Updating;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>Issue 19 (see <see cref="HostileUpstreamTests"/>): a broken patch download is that patch's error; the next patch and the next pass run.</summary>
[Trait("Category", "Network")]
public sealed class HostileUpstreamPatchTests(ITestOutputHelper output) : HostileUpstreamTests(output)
{
    [Theory]
    [MemberData(nameof(Modes))]
    public async Task BrokenPatchDownload_IsThatPatchsError_AndTheNextPatchAndPassRun(HostileMode mode)
    {
        await SetFeedAsync(("KB-hostile", _hostile.Url(mode, "patch.bin")));
        await using var node = await StartNodeAsync(new() { ["Sources:0"] = "manifest:" + _internet.FeedUrlTemplate });

        var first = await RunUpdateAsync(node, "first pass");
        var second = await RunUpdateAsync(node, "next pass");
        Report(node, mode, "patch", first, second);

        foreach (var (pass, applied) in new[] { (first, 1), (second, 0) })
        {
            Assert.True(pass.Took < Bound, $"{pass.Label} took {pass.Took.TotalSeconds:0.0} s");
            Assert.True(pass.Exit == 1, $"{pass.Label} exit {pass.Exit}: {pass.Stderr}");
            Assert.Equal(applied, pass.Summary!.Value.GetProperty("applied").GetInt32());
            var hostile = pass.Outcomes.Single(o => o.GetProperty("patch").GetString() == "KB-hostile");
            Assert.False(hostile.GetProperty("applied").GetBoolean());
            Assert.False(string.IsNullOrEmpty(hostile.GetProperty("error").GetString()));
        }

        AssertTimeoutLogged(node, mode);
    }
}
