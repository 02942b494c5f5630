using System.Diagnostics;
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
        var applier = new PatchApplier(new CoreOptions { DataDir = dir.Sub("data") }, new SourcesOptions(), TimeProvider.System, NullLogger<PatchApplier>.Instance);
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
        var applier = new PatchApplier(new CoreOptions { DataDir = dir.Sub("data") }, new SourcesOptions(), TimeProvider.System, NullLogger<PatchApplier>.Instance);
        var patch = Patch("/bin/sh", ["-c", $"sleep 2; touch '{marker}'"], TimeSpan.FromMilliseconds(300));

        var (ok, error) = await applier.ApplyAsync(patch, "/dev/null", CancellationToken.None);

        Assert.False(ok);
        Assert.Contains("timed out", error);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.False(File.Exists(marker), "the command outlived its limit");
    }

    [Fact]
    public async Task AnApplyCommandStillRunningFromAnEarlierRun_IsWaitedFor_ThenTheApplyRuns()
    {
        using var dir = new TempDir();
        var data = dir.Sub("data");
        Directory.CreateDirectory(data);
        var log = dir.Sub("runs.log");
        // The orphan of a killed node: an apply command under the apply lock, not a child of this applier.
        using var orphan = await OrphanHoldingTheLockAsync(data, log, $"echo start >> '{log}'; sleep 1.5; echo end >> '{log}'");

        var applier = new PatchApplier(new CoreOptions { DataDir = data }, new SourcesOptions(), TimeProvider.System, NullLogger<PatchApplier>.Instance);
        var (ok, error) = await applier.ApplyAsync(Patch("/bin/sh", ["-c", $"echo start >> '{log}'; echo end >> '{log}'"], TimeSpan.FromSeconds(30)), "/dev/null", CancellationToken.None);

        Assert.True(ok, error);
        Assert.Equal(["start", "end", "start", "end"], File.ReadAllLines(log));
    }

    [Fact]
    public async Task AnEarlierApplyCommandThatOutlivesTheWait_LeavesThePatchNotApplied_AndItsCommandNotStarted()
    {
        using var dir = new TempDir();
        var data = dir.Sub("data");
        Directory.CreateDirectory(data);
        var marker = dir.Sub("applied");
        var started = dir.Sub("started");
        using var orphan = await OrphanHoldingTheLockAsync(data, started, $"touch '{started}'; sleep 3");

        var applier = new PatchApplier(new CoreOptions { DataDir = data }, new SourcesOptions { ApplyTimeout = TimeSpan.FromMilliseconds(700) }, TimeProvider.System, NullLogger<PatchApplier>.Instance);
        var (ok, error) = await applier.ApplyAsync(Patch("/bin/sh", ["-c", $"touch '{marker}'"], null), "/dev/null", CancellationToken.None);

        Assert.False(ok);
        Assert.Contains("still runs", error);
        Assert.False(File.Exists(marker), "the apply command ran while the earlier one held the lock");
        orphan.Kill(entireProcessTree: true);
    }

    /// <summary>
    /// The orphan of a killed node: <paramref name="script"/> under the apply lock, not a child of any applier; returned
    /// once it holds the lock (its script has created <paramref name="startedFile"/>), within 10 s.
    /// </summary>
    private static async Task<Process> OrphanHoldingTheLockAsync(string data, string startedFile, string script)
    {
        var orphan = Process.Start("flock", ["-o", Path.Combine(data, "apply.lock"), "/bin/sh", "-c", script]);
        for (var waited = Stopwatch.StartNew(); !File.Exists(startedFile); await Task.Delay(20))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the orphan did not take the apply lock within 10 s");
        }

        return orphan;
    }

    private static PatchSpec Patch(string command, string[] args, TimeSpan? limit) =>
        new("debian-12", "p1", new Uri("http://example.invalid/p1"), new string('a', 64), 0, new ApplySpec(command, args, limit));
}
