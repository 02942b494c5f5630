using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Tests.Updating;

public sealed class PatchApplierTests
{
    [Fact]
    public async Task ACancelledPass_LetsARunningApplyCommandFinish()
    {
        using var dir = new TempDir();
        var marker = dir.Sub("applied");
        var applier = Applier(dir.Sub("data"), new SourcesOptions());
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
        var applier = Applier(dir.Sub("data"), new SourcesOptions());
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

        var applier = Applier(data, new SourcesOptions());
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

        var applier = Applier(data, new SourcesOptions { ApplyTimeout = TimeSpan.FromMilliseconds(700) });
        var (ok, error) = await applier.ApplyAsync(Patch("/bin/sh", ["-c", $"touch '{marker}'"], null), "/dev/null", CancellationToken.None);

        Assert.False(ok);
        Assert.Contains("still runs", error);
        Assert.False(File.Exists(marker), "the apply command ran while the earlier one held the lock");
        orphan.Kill(entireProcessTree: true);
    }

    [Fact]
    public async Task AFailingCommandsOutput_IsLoggedLineByLine_AndItsEndIsInTheError_AndKeptInAFile()
    {
        using var dir = new TempDir();
        var data = dir.Sub("data");
        var logger = new ListLogger<InstallRunner>();
        var applier = Applier(data, new SourcesOptions(), logger: logger);
        // 3,000 numbered lines on both streams, a 10,000-character line, a cut UTF-8 sequence, and no final newline.
        var script = "i=0; while [ $i -lt 3000 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); done; "
            + "head -c 10000 /dev/zero | tr '\\0' x; echo; printf 'caf\\303'; printf '\\n\\303\\251t\\303\\251 end'; exit 3";

        var (ok, error) = await applier.ApplyAsync(Patch("/bin/sh", ["-c", script], TimeSpan.FromSeconds(30)), "/dev/null", CancellationToken.None);

        Assert.False(ok);
        Assert.StartsWith("apply command exited with 3: ", error);
        Assert.EndsWith("\u00e9t\u00e9 end", error);
        Assert.True(error!.Length < InstallRunner.TailChars + 200, $"{error.Length} characters");
        var lines = logger.Lines.Where(l => l.EventId == 420).Select(l => l.Text["p1 | ".Length..]).ToList();
        Assert.Equal(6000, lines.Count(l => l.StartsWith("out ", StringComparison.Ordinal) || l.StartsWith("err ", StringComparison.Ordinal)));
        Assert.Contains("out 2999", lines);
        Assert.Contains("err 2999", lines);
        Assert.Equal([4096, 4096, 1808], lines.Where(l => l.StartsWith('x')).Select(l => l.Length));
        Assert.Contains("caf\ufffd", lines);
        Assert.Equal("\u00e9t\u00e9 end", lines[^1]);
        if (OperatingSystem.IsLinux())
        {
            Assert.EndsWith("\u00e9t\u00e9 end", await File.ReadAllTextAsync(Path.Combine(data, "work", "install.out")));
        }
    }

    [Fact]
    public async Task AnInstallerPrintingWithoutEnd_IsSkippedInTheLog_AndItsFileEmptied_WhileItsLastLinesStillReachTheError()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // The output polls run on a fake clock, so what the node reads is the same on any machine: one poll while the
        // installer waits after its first 40 MB, one after the next 40 MB (the file then past its 64 MiB cap), then its
        // end. On the system clock the number of polls during the printing depended on how fast the machine printed
        // (425,974 lines logged once under a slow CI, against a bound of 400,000).
        using var dir = new TempDir();
        var data = dir.Sub("data");
        var logger = new ListLogger<InstallRunner>();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (printed1, go1, printed2, go2) = (dir.Sub("printed1"), dir.Sub("go1"), dir.Sub("printed2"), dir.Sub("go2"));
        // Each wait for the test's go is bounded (about 30 s): a test that fails before it says go leaves no installer
        // behind (the runner keeps it running detached, and the test's directory is gone).
        static string WaitFor(string file) => $"i=0; while [ ! -e '{file}' ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i+1)); done; ";
        var script = $"yes | head -c 40000000; touch '{printed1}'; {WaitFor(go1)}"
            + $"yes | head -c 40000000; touch '{printed2}'; {WaitFor(go2)}echo the end; exit 3";

        var apply = Applier(data, new SourcesOptions(), logger: logger, time: clock).ApplyAsync(Patch("/bin/sh", ["-c", script], TimeSpan.FromHours(1)), "/dev/null", CancellationToken.None);
        await Until.FileExistsAsync(printed1, "the first 40 MB printed");
        await PollUntilAsync(clock, () => logger.Count(420) > 0, "the first poll");
        Assert.True(logger.Has(420, "bytes of output not logged"), logger.Lines[0].Text);
        File.Create(go1).Dispose();
        await Until.FileExistsAsync(printed2, "the next 40 MB printed");
        await PollUntilAsync(clock, () => logger.Has(420, "install.out emptied"), "the poll that empties install.out");
        File.Create(go2).Dispose();
        var (ok, error) = await apply.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(ok);
        Assert.EndsWith("the end", error);
        var lines = logger.Lines.Where(l => l.EventId == 420).Select(l => l.Text).ToList();
        Assert.Equal(2, lines.Count(l => l.Contains("bytes of output not logged", StringComparison.Ordinal)));
        Assert.Single(lines, l => l.Contains("install.out emptied", StringComparison.Ordinal));
        // Each poll logs only the last 64 KiB it skipped to (32,768 lines of "y"), whatever was printed before.
        Assert.True(lines.Count <= 2 * 32_769 + 4, $"{lines.Count} lines logged of 40,000,000 printed");
        Assert.Equal("p1 | the end", lines[^1]); // the installer's lines are logged under its patch's name
        var size = new FileInfo(Path.Combine(data, "work", "install.out")).Length;
        Assert.True(size < (1 << 20), $"install.out holds {size} bytes");
    }

    /// <summary>Advances the fake clock a poll at a time until <paramref name="done"/> (the runner's delay may start after an advance).</summary>
    private static async Task PollUntilAsync(FakeTimeProvider clock, Func<bool> done, string what)
    {
        for (var waited = Stopwatch.StartNew(); !done(); await Task.Delay(20))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), $"{what} within 20 s");
            clock.Advance(TimeSpan.FromMilliseconds(250));
        }
    }

    [Fact]
    public async Task TheNodeStoppingWhileAnApplyRuns_DoesNotWaitForIt_TheCommandGoesOn_AndTheNextApplyWaitsForIt()
    {
        using var dir = new TempDir();
        var data = dir.Sub("data");
        var log = dir.Sub("runs.log");
        var life = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        var applier = Applier(data, new SourcesOptions(), life);
        var slow = Patch("/bin/sh", ["-c", $"echo start >> '{log}'; sleep 2; echo output after the stop; echo end >> '{log}'"], TimeSpan.FromSeconds(30));

        var first = applier.ApplyAsync(slow, "/dev/null", CancellationToken.None);
        await Until.FileHoldsLineAsync(log, "start", "the command did not start");

        var clock = Stopwatch.StartNew();
        life.StopApplication();
        var (ok, error) = await first;
        var returnedAfter = clock.Elapsed;
        Assert.False(ok);
        Assert.Contains("this node is stopping", error);
        Assert.True(returnedAfter < TimeSpan.FromSeconds(1.5), $"returned {returnedAfter.TotalSeconds:0.0} s after the stop");
        Assert.Equal(["start"], File.ReadAllLines(log));

        // The next run of the node (a new applier) waits for the command, which finishes, then applies.
        var next = Applier(data, new SourcesOptions());
        var (ok2, error2) = await next.ApplyAsync(Patch("/bin/sh", ["-c", $"echo again >> '{log}'"], TimeSpan.FromSeconds(30)), "/dev/null", CancellationToken.None);
        Assert.True(ok2, error2);
        Assert.Equal(["start", "end", "again"], File.ReadAllLines(log));
        Assert.Contains("output after the stop", await File.ReadAllTextAsync(Path.Combine(data, "work", "install.out.1"))); // kept beside the next one
    }

    [Fact]
    public async Task AnInstallerLeftRunningByAStoppedNode_IsKilledAtItsOwnLimit_ByTheNextRun_NotWaitedForUntilThePatchFails()
    {
        using var dir = new TempDir();
        var data = dir.Sub("data");
        var log = dir.Sub("runs.log");
        var life = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        var hung = Patch("/bin/sh", ["-c", $"echo start >> '{log}'; sleep 30; echo end >> '{log}'"], TimeSpan.FromSeconds(1));
        var first = Applier(data, new SourcesOptions(), life).ApplyAsync(hung, "/dev/null", CancellationToken.None);
        await Until.FileHoldsLineAsync(log, "start", "the command did not start");

        life.StopApplication();
        Assert.Contains("this node is stopping", (await first).Error);

        // The next run: its ApplyTimeout (20 s) would have it wait that long; the installer's own limit was 1 s.
        var logger = new ListLogger<InstallRunner>();
        var clock = Stopwatch.StartNew();
        var (ok, error) = await Applier(data, new SourcesOptions { ApplyTimeout = TimeSpan.FromSeconds(20) }, logger: logger)
            .ApplyAsync(Patch("/bin/sh", ["-c", $"echo again >> '{log}'"], null), "/dev/null", CancellationToken.None);

        Assert.True(ok, error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"applied {clock.Elapsed.TotalSeconds:0.0} s later");
        Assert.Equal(1, logger.Count(442));
        Assert.Equal(["start", "again"], File.ReadAllLines(log)); // the hung one never got to its end
    }

    [Fact]
    public void AnInstallerRecord_NamesOnlyTheProcessItWasWrittenFor()
    {
        using var dir = new TempDir();
        var path = dir.Sub("install.pid");
        InstallerRecord.Write(path, Environment.ProcessId, TimeSpan.FromMinutes(5));
        var mine = InstallerRecord.Read(path);

        Assert.NotNull(mine);
        Assert.True(mine.IsRunning);
        Assert.False(mine.IsOverItsLimit);
        Assert.False((mine with { StartTime = mine.StartTime + 1 }).IsRunning); // the same pid, started at another time: reused
        Assert.False((mine with { BootId = Guid.NewGuid().ToString() }).IsRunning); // the same pid and start time, another boot
        var boot = mine.BootId;
        foreach (var junk in new[] { "", $"1 2 3 {boot}", $"x 2 3 {boot}", $"12 -5 3 {boot}", "12 5 6", "12 5 6 not-a-boot-id", $"12 5 6 {boot} 8", $"99999999999 1 1 {boot}" })
        {
            File.WriteAllText(path, junk);
            Assert.True(InstallerRecord.Read(path) is null, $"'{junk}' was read as a record");
        }
    }

    /// <summary>
    /// The orphan of a killed node: <paramref name="script"/> under the apply lock, not a child of any applier; returned
    /// once it holds the lock (its script has created <paramref name="startedFile"/>), within 10 s.
    /// </summary>
    private static async Task<Process> OrphanHoldingTheLockAsync(string data, string startedFile, string script)
    {
        var orphan = Process.Start("flock", ["-o", Path.Combine(data, "apply.lock"), "/bin/sh", "-c", script]);
        await Until.FileExistsAsync(startedFile, "the orphan did not take the apply lock");

        return orphan;
    }

    private static PatchApplier Applier(string data, SourcesOptions sources, IHostApplicationLifetime? life = null, ILogger<InstallRunner>? logger = null, TimeProvider? time = null) =>
        new(sources, new InstallRunner(new CoreOptions { DataDir = data }, life ?? new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), time ?? TimeProvider.System, logger ?? NullLogger<InstallRunner>.Instance));

    private static PatchSpec Patch(string command, string[] args, TimeSpan? limit) =>
        new("debian-12", "p1", new Uri("http://example.invalid/p1"), new string('a', 64), 0, new ApplySpec(command, args, limit));
}
