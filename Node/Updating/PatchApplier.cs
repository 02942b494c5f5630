using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Updating;

/// <summary>
/// Applies a verified patch by running the upstream list's command ("{file}" in its arguments becomes the
/// blob's path; no shell unless the list names one). Exit code 0 means applied; output is logged and its
/// tail kept for the error message; a command over its time limit is killed with its children. A cancelled pass
/// does not kill a running apply command: it finishes (within its limit), and the pass stops after it.
/// </summary>
/// <remarks>
/// One apply at a time on this PC, across node restarts (Linux). A started apply command outlives a node that is
/// SIGKILLed (outside systemd, whose KillMode=mixed kills it with the node), at least until it next writes to its
/// output, a pipe to the dead node (EPIPE or SIGPIPE: a dpkg then stops half done; review reproduction, not fixed
/// here), and nothing the node wrote says it runs; so on Linux the command runs as
/// <c>flock -o -w N -E 75 -- &lt;data&gt;/apply.lock command args...</c>. util-linux's flock(1) (Essential on Debian)
/// takes flock(2) on the lock file, runs the command as its child with that descriptor closed (-o: a daemon the
/// installer starts never holds the lock) and holds the lock until the command exits. The lock belongs to the
/// flock process, not to the node: the kernel drops it when flock exits, whatever killed whom, so no stale state is
/// left anywhere (the file itself stays; it is never deleted, which would let two holders lock different files).
/// Before it starts a command, the node takes the same lock itself (FileShare.None is flock(LOCK_EX|LOCK_NB) in
/// .NET on Linux): while an orphaned command from an earlier run holds it, the node logs that and waits (polling,
/// at most the larger of the patch's limit and ApplyTimeout; a cancelled pass stops waiting, nothing started),
/// then starts flock while still holding the lock and lets go right after, so no one can slip in between. Killed
/// at any instant: before flock started, nothing runs; after, flock (or its command) holds or will take the lock,
/// and the next apply waits for it. The waited-for patch is then applied again (installers like dpkg -i are
/// idempotent; the node cannot know whether the orphan succeeded). Not covered: a flock process killed on its own
/// while its command goes on. On Windows (and where flock is missing) the command runs as before, without the lock.
/// </remarks>
internal sealed partial class PatchApplier(CoreOptions core, SourcesOptions sources, TimeProvider time, ILogger<PatchApplier> logger) : IPatchApplier
{
    private const int TailChars = 4096;

    /// <summary>flock's exit code when it could not take the lock within -w (a command may exit with it too).</summary>
    private const int LockTimeoutExit = 75;

    private static readonly TimeSpan LockPoll = TimeSpan.FromMilliseconds(200);

    private static readonly string? Flock = OperatingSystem.IsLinux()
        ? Array.Find(["/usr/bin/flock", "/bin/flock"], File.Exists)
        : null;

    public async Task<(bool Ok, string? Error)> ApplyAsync(PatchSpec patch, string file, CancellationToken ct)
    {
        var workDir = Path.Combine(core.DataDir, "work");
        Directory.CreateDirectory(workDir);
        var limit = patch.Apply.Timeout ?? sources.ApplyTimeout;
        var wait = limit > sources.ApplyTimeout ? limit : sources.ApplyTimeout;
        var lockPath = Path.Combine(core.DataDir, "apply.lock");
        FileStream? held = null;
        if (Flock is not null)
        {
            held = await LockAsync(patch.Name, lockPath, wait, ct).ConfigureAwait(false);
            if (held is null)
            {
                return (false, $"an apply command started before this node restarted still runs after {wait}; not applied now");
            }
        }
        else if (OperatingSystem.IsLinux())
        {
            Log.NoFlock(logger, patch.Name);
        }

        using var lockHandle = held;
        var psi = new ProcessStartInfo(held is null ? patch.Apply.Command : Flock!)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workDir,
        };
        if (held is not null)
        {
            // -w: this node lets go of the lock right after the start; the bound only matters if another holder slipped in.
            var seconds = Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            foreach (var arg in new[] { "-o", "-w", seconds, "-E", LockTimeoutExit.ToString(CultureInfo.InvariantCulture), "--", lockPath, patch.Apply.Command })
            {
                psi.ArgumentList.Add(arg);
            }
        }

        foreach (var arg in patch.Apply.Args)
        {
            psi.ArgumentList.Add(arg.Replace("{file}", file, StringComparison.Ordinal));
        }

        psi.Environment["PEERPATCH_PATCH"] = patch.Name;
        psi.Environment["PEERPATCH_SHA256"] = patch.Sha256;
        psi.Environment["PEERPATCH_OS"] = patch.OsVersion;

        var tail = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => OnLine(patch.Name, e.Data, tail);
        process.ErrorDataReceived += (_, e) => OnLine(patch.Name, e.Data, tail);
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return (false, $"cannot start '{psi.FileName}': {e.Message}");
        }
        finally
        {
            held?.Dispose(); // flock (started or not) takes the lock over from here
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // A started apply command runs to its end or its own limit, whatever happens to the pass: a caller that gives
        // up (or a pass deadline) must not kill dpkg or an installer halfway and leave the PC half-patched.
        using var timeout = new CancellationTokenSource(limit, time);
        using var note = ct.Register(() => Log.FinishingDespiteCancel(logger, patch.Name, limit));
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            return (false, $"apply command timed out after {limit.TotalSeconds:0} s and was killed");
        }

        process.WaitForExit(); // drains the redirected output
        if (process.ExitCode == 0)
        {
            return (true, null);
        }

        string lastOutput;
        lock (tail)
        {
            lastOutput = tail.ToString().Trim();
        }

        var lockNote = held is not null && process.ExitCode == LockTimeoutExit ? $" (or flock found {lockPath} still held)" : string.Empty;
        return (false, $"apply command exited with {process.ExitCode}{lockNote}" + (lastOutput.Length > 0 ? $": {lastOutput}" : string.Empty));
    }

    /// <summary>
    /// The apply lock, taken by this process (flock LOCK_EX): at once when free, else after the apply command that
    /// holds it ends, polling for at most <paramref name="wait"/>. Null when it is still held then.
    /// </summary>
    private async Task<FileStream?> LockAsync(string patch, string lockPath, TimeSpan wait, CancellationToken ct)
    {
        var start = time.GetTimestamp();
        var logged = false;
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(lockPath))
            {
                // Held: by an apply command (under flock) that an earlier run of this node started.
            }

            var waited = time.GetElapsedTime(start);
            if (!logged)
            {
                Log.WaitingForEarlierApply(logger, patch, lockPath, wait);
                logged = true;
            }

            if (waited >= wait)
            {
                Log.EarlierApplyStillRuns(logger, patch, lockPath, waited);
                return null;
            }

            await Task.Delay(LockPoll, time, ct).ConfigureAwait(false);
        }
    }

    private void OnLine(string patch, string? line, StringBuilder tail)
    {
        if (line is null)
        {
            return;
        }

        Log.Output(logger, patch, line);
        lock (tail)
        {
            tail.AppendLine(line);
            if (tail.Length > TailChars)
            {
                tail.Remove(0, tail.Length - TailChars);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "{Patch} | {Line}")]
        public static partial void Output(ILogger logger, string patch, string line);

        [LoggerMessage(EventId = 424, Level = LogLevel.Warning, Message = "{Patch}: the pass was cancelled while its apply command runs; letting it finish (at most {Limit})")]
        public static partial void FinishingDespiteCancel(ILogger logger, string patch, TimeSpan limit);

        [LoggerMessage(EventId = 425, Level = LogLevel.Warning, Message = "{Patch}: an apply command started before this node restarted still runs (it holds {Lock}); waiting for it to end (at most {Wait}) before applying")]
        public static partial void WaitingForEarlierApply(ILogger logger, string patch, string @lock, TimeSpan wait);

        [LoggerMessage(EventId = 437, Level = LogLevel.Error, Message = "{Patch}: the earlier apply command still holds {Lock} after {Waited}; not applied now")]
        public static partial void EarlierApplyStillRuns(ILogger logger, string patch, string @lock, TimeSpan waited);

        [LoggerMessage(EventId = 438, Level = LogLevel.Warning, Message = "{Patch}: flock (util-linux) not found; the apply command runs without the apply lock, so after a restart it may run twice at once")]
        public static partial void NoFlock(ILogger logger, string patch);
    }
}
