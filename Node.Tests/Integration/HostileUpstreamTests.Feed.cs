using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Redirect;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Updating;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>Issue 19 (see <see cref="HostileUpstreamTests"/>): a broken feed is that source's error; the other source is applied, and the next pass runs.</summary>
[Trait("Category", "Network")]
public sealed class HostileUpstreamFeedTests(ITestOutputHelper output) : HostileUpstreamTests(output)
{
    [Theory]
    [MemberData(nameof(Modes))]
    public async Task BrokenFeed_IsThatSourcesError_TheOtherSourceIsApplied_AndTheNextPassRuns(HostileMode mode)
    {
        var goodFeed = _internet.SetNamedFeed("good", Lan.Os, [("KB-good", "good.bin")]);
        await using var node = await StartNodeAsync(new()
        {
            ["Sources:0"] = "manifest:" + _hostile.Url(mode, "feed.json"),
            ["Sources:1"] = "manifest:" + goodFeed,
        });

        var first = await RunUpdateAsync(node, "first pass");
        var second = await RunUpdateAsync(node, "next pass");
        Report(node, mode, "feed", first, second);

        foreach (var (pass, applied) in new[] { (first, 1), (second, 0) })
        {
            Assert.True(pass.Took < Bound, $"{pass.Label} took {pass.Took.TotalSeconds:0.0} s");
            Assert.True(pass.Exit == 1, $"{pass.Label} exit {pass.Exit}: {pass.Stderr}");
            var summary = pass.Summary!.Value;
            Assert.Equal(applied, summary.GetProperty("applied").GetInt32());
            var error = Assert.Single(summary.GetProperty("sourceErrors").EnumerateArray()).GetString()!;
            Assert.Contains($"127.0.0.1:{_hostile.Port}/{mode}/feed.json", error, StringComparison.Ordinal);
        }

        Assert.Equal(1, second.Summary!.Value.GetProperty("alreadyApplied").GetInt32());
        AssertTimeoutLogged(node, mode);

        // Without --json the CLI says the same in words: which source failed, and that a source counts as a failure.
        var plain = await RunUpdateAsync(node, "plain pass", "--plain");
        Output.WriteLine($"plain pass: exit {plain.Exit}\n{plain.Stdout}{plain.Stderr}");
        Assert.Equal(1, plain.Exit);
        Assert.Contains($"FAILED   source: manifest http://127.0.0.1:{_hostile.Port}/{mode}/feed.json: feed ", plain.Stdout, StringComparison.Ordinal);
        Assert.Contains("0 applied, 1 failed (1 of them sources), 1 already applied", plain.Stdout, StringComparison.Ordinal);
    }
}
