using System.Diagnostics;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>Review of InstallRunner (1e4f404, aae9cc5): each test fails on that code and shows one defect.</summary>
public sealed class InstallRunnerReviewTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    /// <summary>
    /// AptSource.CompletePassAsync runs apt-get dist-upgrade with CancellationToken.None, and InstallRunner.LockAsync
    /// waits only on that token, never on ApplicationStopping: a SIGTERM while it waits for an earlier installer does
    /// not end the wait (the node's stop hangs up to ApplyTimeout, 30 min by default, until the host's shutdown
    /// timeout and systemd's SIGKILL), and once the lock frees the stopping node starts dist-upgrade anyway.
    /// </summary>
    [Fact]
    public async Task ANodeStoppingWhileDistUpgradeWaitsForTheApplyLock_StopsWaiting_AndStartsNothing()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        var data = dir.Sub("data");
        Directory.CreateDirectory(data);
        var started = dir.Sub("orphan-started");
        var marker = dir.Sub("installer-ran");
        using var orphan = Process.Start("flock", ["-o", Path.Combine(data, "apply.lock"), "/bin/sh", "-c", $"touch '{started}'; sleep 2"]);
        await Until.FileExistsAsync(started, "the orphan did not take the lock");

        var life = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        var runner = new InstallRunner(new CoreOptions { DataDir = data }, life, TimeProvider.System, NullLogger<InstallRunner>.Instance);
        // As AptSource.CompletePassAsync calls it: limit and wait ApplyTimeout, no token.
        var run = runner.RunAsync("apt-get dist-upgrade", "/bin/sh", ["-c", $"touch '{marker}'"], NoEnvironment, TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(30), CancellationToken.None);
        await Task.Delay(300);
        Assert.False(run.IsCompleted);

        var clock = Stopwatch.StartNew();
        life.StopApplication();
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(5)));
        var returnedAfter = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(3)); // the orphan is gone by now; anything started has run

        Assert.True(finished == run, "RunAsync had not returned 5 s after the stop");
        var result = await run;
        Assert.True(
            returnedAfter < TimeSpan.FromSeconds(1) && !File.Exists(marker),
            $"returned {returnedAfter.TotalSeconds:0.0} s after the stop (the orphan held the lock 2 s); installer started after the stop: {File.Exists(marker)}; result: {result.Error}");
    }

    /// <summary>
    /// OutputTail.Read loops until it reaches the end of install.out, and the timeout and the stop are only looked at
    /// between reads: an installer that prints faster than the node reads and logs (a postinst looping on an error
    /// message) keeps the node inside Read, so its limit is never enforced and RunAsync does not return. Before, the
    /// output was a pipe: the installer blocked on it, and the limit killed it on time.
    /// </summary>
    [Fact]
    public async Task AnInstallerPrintingFasterThanTheNodeReads_IsStillKilledAtItsLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        var data = dir.Sub("data");
        var marker = dir.Sub("ran-to-its-end");
        var logger = new CountingLogger();
        var runner = new InstallRunner(new CoreOptions { DataDir = data }, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), TimeProvider.System, logger);
        // 100 MB of short lines (written in ~0.3 s here; bounded, so the test cannot fill the disk), 2 s more, then a
        // marker: the installer runs ~2.3 s, over its 1 s limit.
        var clock = Stopwatch.StartNew();
        var result = await runner.RunAsync("p1", "/bin/sh", ["-c", $"yes | head -c 100000000; sleep 2; touch '{marker}'"], NoEnvironment, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), CancellationToken.None);
        var elapsed = clock.Elapsed;
        var size = new FileInfo(Path.Combine(data, "work", "install.out")).Length;

        Assert.False(File.Exists(marker), $"the installer ran to its end despite its 1 s limit; RunAsync returned after {elapsed.TotalSeconds:0.0} s ({result.Ok}, {result.Error?[..Math.Min(80, result.Error.Length)]}), {logger.Lines} lines logged, install.out {size} bytes");
        Assert.True(elapsed < TimeSpan.FromSeconds(4), $"returned {elapsed.TotalSeconds:0.0} s after a 1 s limit");
    }

    /// <summary>
    /// CoreOptions.DataDir is used as given (`peerpatch run --data ./d`: NodeData takes its full path for itself only).
    /// InstallRunner passes &lt;data&gt;/work/install.out and &lt;data&gt;/apply.lock to sh and flock relative, but runs
    /// them in &lt;data&gt;/work: the redirection and the lock file resolve to &lt;data&gt;/work/&lt;data&gt;/..., which does
    /// not exist, so no installer runs at all (apt-get dist-upgrade included, which ran before this change).
    /// </summary>
    [Fact]
    public async Task ARelativeDataDir_StillRunsTheInstaller()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        // A data dir under the current directory, named relative to it (as `--data ./d` gives it).
        var data = "peerpatch-reldata-" + Guid.NewGuid().ToString("N")[..10];
        var marker = dir.Sub("installer-ran");
        var runner = new InstallRunner(new CoreOptions { DataDir = data }, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), TimeProvider.System, NullLogger<InstallRunner>.Instance);
        try
        {
            var result = await runner.RunAsync("apt-get dist-upgrade", "/bin/sh", ["-c", $"touch '{marker}'"], NoEnvironment, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), CancellationToken.None);

            Assert.True(result.Ok, result.Error);
            Assert.True(File.Exists(marker));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>
    /// "the command and its arguments stay argv, never shell text": flock(1) reads a command named "-c" or "--command"
    /// after the lock file as its own option and runs the next argument with $SHELL -c. Before, such a command could
    /// not start.
    /// </summary>
    [Theory]
    [InlineData("-c")]
    [InlineData("--command")]
    public async Task ACommandNamedLikeAFlockOption_IsNotRunAsShellText(string command)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        var marker = dir.Sub("shell-text-ran");
        var runner = new InstallRunner(new CoreOptions { DataDir = dir.Sub("data") }, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), TimeProvider.System, NullLogger<InstallRunner>.Instance);

        var result = await runner.RunAsync("p1", command, [$"touch '{marker}'"], NoEnvironment, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.False(File.Exists(marker), "the argument was run as shell text");
    }

    /// <summary>
    /// ApplyTimeout is only checked to be positive, so 60 days is accepted at start-up; InstallRunner then builds
    /// <c>new CancellationTokenSource(limit, time)</c> after the installer started and the apply lock went to flock,
    /// which throws for more than ~49.7 days: the pass gets an exception, the installer runs with nobody bounding it.
    /// </summary>
    [Fact]
    public async Task AnApplyTimeoutOfDays_IsRejectedAtStartUp_AndTheLongestAllowed_RunsWithoutThrowing()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // What was chosen: rejected at start-up (a timer cannot count past ~49.7 days), with the reason.
        var sixtyDays = new SourcesOptionsValidator().Validate(null, new SourcesOptions { ApplyTimeout = TimeSpan.FromDays(60) });
        Assert.True(sixtyDays.Failed);
        Assert.Contains("ApplyTimeout must be at most", sixtyDays.FailureMessage, StringComparison.Ordinal);

        // The longest accepted limit runs the installer and returns, nothing thrown after it started.
        var longest = new SourcesOptions { ApplyTimeout = SourcesOptionsValidator.MaxApplyTimeout };
        Assert.False(new SourcesOptionsValidator().Validate(null, longest).Failed);
        using var dir = new TempDir();
        var marker = dir.Sub("installer-ran");
        var runner = new InstallRunner(new CoreOptions { DataDir = dir.Sub("data") }, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), TimeProvider.System, NullLogger<InstallRunner>.Instance);
        var result = await runner.RunAsync("apt-get dist-upgrade", "/bin/sh", ["-c", $"touch '{marker}'"], NoEnvironment, longest.ApplyTimeout, longest.ApplyTimeout, CancellationToken.None);

        Assert.True(result.Ok, result.Error);
        Assert.True(File.Exists(marker));
    }

    /// <summary>A logger that formats every line, as a console or file sink does, and counts them.</summary>
    private sealed class CountingLogger : ILogger<InstallRunner>
    {
        private long _lines;

        public long Lines => Interlocked.Read(ref _lines);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            _ = formatter(state, exception);
            Interlocked.Increment(ref _lines);
        }
    }
}
