using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Redirect;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Updating;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>Issue 19 (see <see cref="HostileUpstreamTests"/>): a pass is cancelled with its CLI, and a stuck pass ends at its deadline.</summary>
[Trait("Category", "Network")]
public sealed class HostileUpstreamPassTests(ITestOutputHelper output) : HostileUpstreamTests(output)
{
    [Fact]
    public async Task InterruptingTheCli_CancelsThePassOnTheNode_AndItsUpstreamRequest()
    {
        await SetFeedAsync(("KB-hostile", _hostile.Url(HostileMode.StallBeforeHeaders, "patch.bin")));
        await using var node = await StartNodeAsync(new()
        {
            ["Sources:0"] = "manifest:" + _internet.FeedUrlTemplate,
            ["InternetHeadersTimeout"] = "00:10:00",
        });
        var runner = node.Services.GetRequiredService<UpdateRunner>();

        using var cli = NodeProcess.StartCli("update", "--node", node.Http.ToString(), "--json");
        await WaitUntilAsync(() => _hostile.Open > 0, "the pass never asked the stalling upstream");
        Assert.True(runner.Running);
        using (var kill = Process.Start("kill", ["-s", "INT", cli.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        var watch = Stopwatch.StartNew();
        var ended = await WaitUntilAsync(() => !runner.Running && _hostile.Open == 0, null);
        Output.WriteLine($"after SIGINT to the CLI: pass ended={ended} after {watch.Elapsed.TotalSeconds:0.0} s, upstream connections open: {_hostile.Open}; CLI exited={cli.WaitForExit(5000)} with {(cli.HasExited ? cli.ExitCode : -1)}: {cli.StandardError.ReadToEnd().Trim()}");
        Output.WriteLine(LogLines(node, "cancel", "pass"));
        Assert.True(ended, "the pass went on after the CLI gave up");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the pass ended {watch.Elapsed.TotalSeconds:0.0} s after the CLI gave up");
        Assert.True(await WaitUntilAsync(() => node.Log.Contains("cancelled by its caller", StringComparison.Ordinal), null), "the node did not log the cancelled pass");

        // The next pass is not blocked by the cancelled one (its upstream now fails at once).
        await SetFeedAsync(("KB-hostile", _hostile.Url(HostileMode.Reset, "patch.bin")));
        var next = await RunUpdateAsync(node, "next pass");
        Output.WriteLine($"next pass: {next.Took.TotalSeconds:0.0} s, exit {next.Exit}; {next.Brief}");
        Assert.True(next.Exit is 1, $"next pass exit {next.Exit}");
        Assert.Equal(1, next.Summary!.Value.GetProperty("applied").GetInt32());
    }

    [Fact]
    public async Task StuckPass_EndsAtItsDeadline_AndAPassAskedMeanwhileIsToldOneIsRunning()
    {
        await SetFeedAsync(("KB-hostile", _hostile.Url(HostileMode.StallBeforeHeaders, "patch.bin")));
        await using var node = await StartNodeAsync(new()
        {
            ["Sources:0"] = "manifest:" + _internet.FeedUrlTemplate,
            ["InternetHeadersTimeout"] = "00:10:00",
            ["PassDeadline"] = "00:00:08",
            ["PassLockWait"] = "00:00:01",
        });

        var stuck = RunUpdateAsync(node, "stuck pass");
        await WaitUntilAsync(() => _hostile.Open > 0, "the pass never asked the stalling upstream");
        var meanwhile = await RunUpdateAsync(node, "pass asked meanwhile");
        var first = await stuck;
        Report(node, HostileMode.StallBeforeHeaders, "pass deadline", first, meanwhile);

        Assert.True(meanwhile.Exit == 3, $"exit {meanwhile.Exit}: {meanwhile.Stderr}");
        Assert.Contains("a pass is already running", meanwhile.Stderr, StringComparison.Ordinal);
        Assert.True(meanwhile.Took < TimeSpan.FromSeconds(6), $"the second pass waited {meanwhile.Took.TotalSeconds:0.0} s");
        Assert.True(first.Exit == 1, $"exit {first.Exit}: {first.Stderr}");
        Assert.True(first.Took < TimeSpan.FromSeconds(8 + 6), $"the stuck pass took {first.Took.TotalSeconds:0.0} s");
        Assert.Contains("deadline", first.Summary!.Value.GetProperty("stopped").GetString(), StringComparison.Ordinal);
        Assert.True(first.Summary!.Value.GetProperty("applied").GetInt32() == 0, "the patch after the stuck one was not tried: the deadline ended the pass");
        Assert.True(await WaitUntilAsync(() => _hostile.Open == 0, null), "the stuck upstream request was not abandoned");
    }
}
