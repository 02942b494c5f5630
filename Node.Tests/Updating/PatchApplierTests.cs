using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Tests.Updating;

public sealed class PatchApplierTests
{
    [Fact]
    public async Task ACancelledPass_LetsARunningApplyCommandFinish()
    {
        using var dir = new TempDir();
        var marker = dir.Sub("applied");
        var applier = new PatchApplier(new CoreOptions { DataDir = dir.Sub("data") }, new SourcesOptions(), NullLogger<PatchApplier>.Instance);
        var patch = Patch("/bin/sh", ["-c", $"sleep 1; touch '{marker}'"], TimeSpan.FromSeconds(30));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        var (ok, error) = await applier.ApplyAsync(patch, "/dev/null", cancel.Token);

        Assert.True(cancel.IsCancellationRequested);
        Assert.True(ok, error);
        Assert.True(File.Exists(marker), "the apply command was killed before it finished");
    }

    [Fact]
    public async Task AnApplyCommandOverItsLimit_IsKilled_AndReportedAsFailed()
    {
        using var dir = new TempDir();
        var marker = dir.Sub("applied");
        var applier = new PatchApplier(new CoreOptions { DataDir = dir.Sub("data") }, new SourcesOptions(), NullLogger<PatchApplier>.Instance);
        var patch = Patch("/bin/sh", ["-c", $"sleep 2; touch '{marker}'"], TimeSpan.FromMilliseconds(300));

        var (ok, error) = await applier.ApplyAsync(patch, "/dev/null", CancellationToken.None);

        Assert.False(ok);
        Assert.Contains("timed out", error);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.False(File.Exists(marker), "the command outlived its limit");
    }

    private static PatchSpec Patch(string command, string[] args, TimeSpan limit) =>
        new("debian-12", "p1", new Uri("http://example.invalid/p1"), new string('a', 64), 0, new ApplySpec(command, args, limit));
}
