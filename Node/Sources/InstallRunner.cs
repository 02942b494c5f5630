using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Sources;

/// <summary>What an installer run did: ok, or why not (with the end of what it printed), phrased to follow the installer's name.</summary>
internal sealed record InstallResult(bool Ok, string? Error);

/// <summary>
/// Runs an installer: a patch's apply command from the upstream list, or apt-get dist-upgrade. One at a time on this
/// PC, across node restarts; a started installer runs to its end or its own limit, whatever happens to the pass or
/// to this node; its output goes to the node's log line by line, and its tail into the error message.
/// </summary>
/// <remarks>
/// <para>
/// On Linux an installer must outlive this node: systemd stops the node with KillMode=process (as Debian's
/// unattended-upgrades.service does), and the node itself is stopped by its own package's postinst when an
/// apt pass upgrades PeerPatch. So nothing an installer holds may depend on the node: its output goes to a file,
/// <c>&lt;data&gt;/work/install.out</c> (the last one stays there for the admin, the one before as install.out.1),
/// never to a pipe to the node (a dpkg whose reader died stops at its next write, EPIPE or SIGPIPE, with a package
/// half-configured; reproduced), and the node reads that file as it grows. Its standard input is /dev/null. The
/// command line is
/// <c>/bin/sh -c 'exec &lt;/dev/null &gt;&gt;"$0" 2&gt;&amp;1; exec "$@"' OUT flock -o -w N -E 75 -- &lt;data&gt;/apply.lock command args...</c>:
/// the shell only sets up the redirections and is replaced by flock; the command and its arguments stay argv, never
/// shell text.
/// </para>
/// <para>
/// The apply lock: util-linux's flock(1) (Essential on Debian) takes flock(2) on the lock file, runs the command as
/// its child with that descriptor closed (-o: a daemon the installer starts never holds the lock) and holds the lock
/// until the command exits. The lock belongs to the flock process, not to the node: the kernel drops it when flock
/// exits, whatever killed whom, so no stale state is left anywhere (the file itself stays; it is never deleted, which
/// would let two holders lock different files). Before it starts an installer, the node takes the same lock itself
/// (FileShare.None is flock(LOCK_EX|LOCK_NB) in .NET on Linux): while an installer from an earlier run holds it, the
/// node logs that and waits (polling, at most the given wait; a cancelled pass stops waiting, nothing started), then
/// starts flock while still holding the lock and lets go right after, so no one can slip in between. The waited-for
/// patch is then applied again (installers like dpkg -i are idempotent; the node cannot know whether the earlier one
/// succeeded). The node writes the installer's pid down (<see cref="InstallerRecord"/>): a node restarted after a stop
/// or a kill ends an installer that is over the limit it was started with, instead of waiting for it in every pass.
/// Not covered: a flock process killed on its own while its command goes on.
/// </para>
/// <para>
/// When the node stops (SIGTERM: systemctl stop or restart) while an installer runs under the lock, the node does not
/// wait for it: the installer goes on, the patch is reported not applied, and the next pass (after the restart) waits
/// for the lock and applies it again. Waiting would deadlock a self-upgrade (the postinst's restart waits for the
/// node, which would wait for the postinst) until systemd's stop timeout.
/// </para>
/// <para>
/// On Windows, and on a Linux without flock or /bin/sh, the installer is the node's child with its output piped, as
/// before: it finishes when the node waits for it, and dies with the node otherwise.
/// </para>
/// </remarks>
internal sealed partial class InstallRunner(CoreOptions core, IHostApplicationLifetime life, TimeProvider time, ILogger<InstallRunner> logger)
{
    /// <summary>Characters of an installer's output kept for the error message.</summary>
    public const int TailChars = 4096;

    /// <summary>flock's exit code when it could not take the lock within -w (a command may exit with it too).</summary>
    private const int LockTimeoutExit = 75;

    /// <summary>Longest line of an installer's output logged as one line (a longer one is logged in parts).</summary>
    private const int MaxLineChars = 4096;

    private const string Shell = "/bin/sh";

    private const string RedirectScript = "exec </dev/null >>\"$0\" 2>&1; exec \"$@\"";

    private static readonly TimeSpan LockPoll = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan OutputPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>Most bytes of install.out read (and logged) per poll: about 1 MB/s into the node's log.</summary>
    private const int ReadPerPoll = 256 * 1024;

    /// <summary>Output further behind than this is skipped (its last <see cref="ResumeBytes"/> are read), not logged.</summary>
    private const long SkipBeyond = 1 << 20;

    private const long ResumeBytes = 64 * 1024;

    /// <summary>install.out is emptied once it grows past this while the node reads it (an installer that prints without end).</summary>
    private const long MaxOutputBytes = 64L << 20;

    private static readonly string? Flock = OperatingSystem.IsLinux()
        ? Array.Find(["/usr/bin/flock", "/bin/flock"], File.Exists)
        : null;

    /// <summary>Where the last installer's output is (Linux).</summary>
    public string OutputPath => Path.Combine(DataDir, "work", "install.out");

    /// <summary>The data directory as a full path: sh and flock run in &lt;data&gt;/work, so a relative one would miss.</summary>
    private string DataDir { get; } = Path.GetFullPath(core.DataDir);

    /// <summary>The running installer's <see cref="InstallerRecord"/> (Linux).</summary>
    private string RecordPath => Path.Combine(DataDir, "work", "install.pid");

    /// <summary>
    /// Runs <paramref name="command"/> in &lt;data&gt;/work, killed (with its children) after <paramref name="limit"/>.
    /// <paramref name="lockWait"/> bounds the wait for an installer that an earlier run of this node left running.
    /// <paramref name="ct"/> only stops that wait: a started installer is not stopped by it.
    /// </summary>
    public async Task<InstallResult> RunAsync(
        string label, string command, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, TimeSpan limit, TimeSpan lockWait, CancellationToken ct)
    {
        if (command.StartsWith('-'))
        {
            // flock(1) would read it as its own option (-c: the next argument run as shell text).
            return new InstallResult(false, $"cannot start '{command}': a command name may not start with '-'");
        }

        var workDir = Path.Combine(DataDir, "work");
        Directory.CreateDirectory(workDir);
        var lockPath = Path.Combine(DataDir, "apply.lock");
        var detached = Flock is not null && File.Exists(Shell);
        FileStream? held = null;
        if (detached)
        {
            // A node that stops stops waiting too (and starts nothing): the pass's token may not say so (apt's install).
            using var waitOrStop = CancellationTokenSource.CreateLinkedTokenSource(ct, life.ApplicationStopping);
            try
            {
                held = await LockAsync(label, lockPath, lockWait, waitOrStop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (life.ApplicationStopping.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                return new InstallResult(false, "not started: this node is stopping");
            }

            if (held is null)
            {
                return new InstallResult(false, $"not started: an installer started before this node restarted still runs after {lockWait}");
            }

            // Under the lock: no earlier installer writes to it any more. The one before stays beside it (an installer
            // left running by a stop or a kill wrote there, and the node saw none of it after that).
            if (File.Exists(OutputPath))
            {
                File.Move(OutputPath, OutputPath + ".1", overwrite: true);
            }

            File.WriteAllBytes(OutputPath, []);
        }
        else if (OperatingSystem.IsLinux())
        {
            Log.NoFlock(logger, label);
        }

        var psi = new ProcessStartInfo(detached ? Shell : command) { UseShellExecute = false, WorkingDirectory = workDir };
        if (detached)
        {
            // -w: this node lets go of the lock right after the start; the bound only matters if another holder slipped in.
            var seconds = Math.Max(1, Math.Ceiling(lockWait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            foreach (var arg in new[] { "-c", RedirectScript, OutputPath, Flock!, "-o", "-w", seconds, "-E", LockTimeoutExit.ToString(CultureInfo.InvariantCulture), "--", lockPath, command })
            {
                psi.ArgumentList.Add(arg);
            }
        }
        else
        {
            psi.RedirectStandardOutput = true;
            psi.RedirectStandardError = true;
            psi.RedirectStandardInput = true;
        }

        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }

        var tail = new OutputTail(line => Log.Output(logger, label, line));
        using var process = new Process { StartInfo = psi };
        if (!detached)
        {
            process.OutputDataReceived += (_, e) => tail.Line(e.Data);
            process.ErrorDataReceived += (_, e) => tail.Line(e.Data);
        }

        var started = false;
        try
        {
            process.Start();
            started = true;
        }
        catch (Win32Exception e)
        {
            return new InstallResult(false, $"cannot start '{psi.FileName}': {e.Message}");
        }
        finally
        {
            if (detached && started)
            {
                RecordInstaller(process.Id, limit); // before the lock goes: a node that waits for it finds the record
            }

            held?.Dispose(); // flock (started or not) takes the lock over from here
        }

        // OpenOrCreate: nothing between the start and here may throw and leave a started installer unbounded.
        using var output = detached ? new FileStream(OutputPath, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None) : null;
        if (!detached)
        {
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        // A started installer runs to its end or its own limit, whatever happens to the pass: a caller that gives up (or
        // a pass deadline) must not kill dpkg or an installer halfway and leave the PC half-patched.
        using var timeout = new CancellationTokenSource(limit, time);
        using var stop = detached ? CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, life.ApplicationStopping) : CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        using var note = ct.Register(() => Log.FinishingDespiteCancel(logger, label, limit));
        var exit = process.WaitForExitAsync(stop.Token);
        try
        {
            while (!exit.IsCompleted)
            {
                await Task.WhenAny(exit, Task.Delay(OutputPoll, time, CancellationToken.None)).ConfigureAwait(false);
                tail.Read(output, ReadPerPoll); // bounded: the limit and a stop are looked at between reads
            }

            await exit.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!timeout.IsCancellationRequested)
        {
            // The node stops (detached only): the installer goes on under the apply lock; the next pass waits for it.
            tail.Read(output, ReadPerPoll);
            Log.LeftRunning(logger, label, process.Id, OutputPath);
            return new InstallResult(false, $"not waited for: this node is stopping; it goes on (pid {process.Id}), and the next pass waits for it and applies again");
        }
        catch (OperationCanceledException) when (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            tail.ReadToEnd(output);
            return new InstallResult(false, $"timed out after {limit.TotalSeconds:0} s and was killed");
        }
        catch (OperationCanceledException)
        {
            // It ended by itself as its limit passed: its exit code says how.
        }

        process.WaitForExit(); // drains the redirected output (install.pid stays: a record of an ended process is never acted on)
        tail.ReadToEnd(output);
        tail.Flush();
        if (process.ExitCode == 0)
        {
            return new InstallResult(true, null);
        }

        var lastOutput = tail.Text();
        var lockNote = detached && process.ExitCode == LockTimeoutExit ? $" (or flock found {lockPath} still held)" : string.Empty;
        return new InstallResult(false, $"exited with {process.ExitCode}{lockNote}" + (lastOutput.Length > 0 ? $": {lastOutput}" : string.Empty));
    }

    private void RecordInstaller(int pid, TimeSpan limit)
    {
        try
        {
            InstallerRecord.Write(RecordPath, pid, limit);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.NoRecord(logger, pid, e.Message); // the installer runs all the same; only a later node cannot end it
        }
    }

    /// <summary>
    /// The apply lock, taken by this process (flock LOCK_EX): at once when free, else after the installer that
    /// holds it ends, polling for at most <paramref name="wait"/>. Null when it is still held then.
    /// </summary>
    private async Task<FileStream?> LockAsync(string label, string lockPath, TimeSpan wait, CancellationToken ct)
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
                // Held: by an installer (under flock) that an earlier run of this node started. One over the time limit
                // it was started with is ended, as the node that started it would have done.
                if (InstallerRecord.Read(RecordPath) is { IsOverItsLimit: true, IsRunning: true } record && record.Kill())
                {
                    Log.KilledOverLimit(logger, label, record.Pid);
                }
            }

            var waited = time.GetElapsedTime(start);
            if (!logged)
            {
                Log.WaitingForEarlierApply(logger, label, lockPath, wait);
                logged = true;
            }

            if (waited >= wait)
            {
                Log.EarlierApplyStillRuns(logger, label, lockPath, waited);
                return null;
            }

            await Task.Delay(LockPoll, time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An installer's output: logged line by line (from a pipe, or read from install.out as it grows), its end kept.
    /// Reading from the file is bounded per call; output too far behind is skipped (said in the log), and a file past
    /// <see cref="MaxOutputBytes"/> is emptied (the installer appends, so it goes on writing at the new end).
    /// </summary>
    private sealed class OutputTail(Action<string> log)
    {
        private readonly Queue<string> _tail = new();
        private readonly StringBuilder _line = new();
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
        private readonly byte[] _bytes = new byte[16 * 1024];
        private readonly char[] _chars = new char[Encoding.UTF8.GetMaxCharCount(16 * 1024)];
        private int _tailChars;

        public void Line(string? line)
        {
            if (line is null)
            {
                return;
            }

            log(line);
            lock (_tail)
            {
                _tail.Enqueue(line);
                _tailChars += line.Length + 1;
                while (_tailChars > TailChars && _tail.Count > 1)
                {
                    _tailChars -= _tail.Dequeue().Length + 1;
                }
            }
        }

        /// <summary>Reads at most <paramref name="budget"/> bytes of what the file gained; logs each complete line.</summary>
        public void Read(FileStream? file, int budget)
        {
            if (file is null)
            {
                return;
            }

            var behind = file.Length - file.Position;
            if (behind > SkipBeyond)
            {
                var skipped = behind - ResumeBytes;
                file.Position += skipped;
                Flush();
                _decoder.Reset();
                Line($"[{skipped} bytes of output not logged: printed faster than the log takes them]");
            }

            int n;
            while (budget > 0 && (n = file.Read(_bytes, 0, Math.Min(_bytes.Length, budget))) > 0)
            {
                budget -= n;
                var count = _decoder.GetChars(_bytes, 0, n, _chars, 0, flush: false);
                for (var i = 0; i < count; i++)
                {
                    var c = _chars[i];
                    if (c == '\n' || _line.Length >= MaxLineChars)
                    {
                        Line(_line.ToString().TrimEnd('\r'));
                        _line.Clear();
                        if (c == '\n')
                        {
                            continue;
                        }
                    }

                    _line.Append(c);
                }
            }

            if (file.Position > MaxOutputBytes)
            {
                using var writer = new FileStream(file.Name, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                writer.SetLength(0);
                file.Position = 0;
                Line($"[install.out emptied at {MaxOutputBytes} bytes]");
            }
        }

        /// <summary>Reads what is left (after the installer ended; bounded by the skip).</summary>
        public void ReadToEnd(FileStream? file)
        {
            if (file is null)
            {
                return;
            }

            long before;
            do
            {
                before = file.Position;
                Read(file, ReadPerPoll);
            }
            while (file.Position != before && file.Position < file.Length);
        }

        /// <summary>The last line, when the output did not end with a newline.</summary>
        public void Flush()
        {
            if (_line.Length > 0)
            {
                Line(_line.ToString().TrimEnd('\r'));
                _line.Clear();
            }
        }

        public string Text()
        {
            lock (_tail)
            {
                return string.Join('\n', _tail).Trim();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "{Patch} | {Line}")]
        public static partial void Output(ILogger logger, string patch, string line);

        [LoggerMessage(EventId = 424, Level = LogLevel.Warning, Message = "{Patch}: the pass was cancelled while its installer runs; letting it finish (at most {Limit})")]
        public static partial void FinishingDespiteCancel(ILogger logger, string patch, TimeSpan limit);

        [LoggerMessage(EventId = 425, Level = LogLevel.Warning, Message = "{Patch}: an installer started before this node restarted still runs (it holds {Lock}); waiting for it to end (at most {Wait}) before applying")]
        public static partial void WaitingForEarlierApply(ILogger logger, string patch, string @lock, TimeSpan wait);

        [LoggerMessage(EventId = 437, Level = LogLevel.Error, Message = "{Patch}: the earlier installer still holds {Lock} after {Waited}; not applied now")]
        public static partial void EarlierApplyStillRuns(ILogger logger, string patch, string @lock, TimeSpan waited);

        [LoggerMessage(EventId = 438, Level = LogLevel.Warning, Message = "{Patch}: flock (util-linux) or /bin/sh not found; the installer runs as this node's child, without the apply lock: after a restart it may run twice at once, and it dies with the node")]
        public static partial void NoFlock(ILogger logger, string patch);

        [LoggerMessage(EventId = 442, Level = LogLevel.Warning, Message = "{Patch}: the installer an earlier run of this node started (pid {Pid}) is over its time limit; killed it and its children")]
        public static partial void KilledOverLimit(ILogger logger, string patch, int pid);

        [LoggerMessage(EventId = 443, Level = LogLevel.Warning, Message = "could not write down the installer's pid {Pid} ({Error}); a node restarted while it runs will wait for it instead of ending it at its limit")]
        public static partial void NoRecord(ILogger logger, int pid, string error);

        [LoggerMessage(EventId = 439, Level = LogLevel.Warning, Message = "{Patch}: this node is stopping while its installer runs; not waiting: the installer (pid {Pid}) goes on under the apply lock, its output in {Output}, and the next pass waits for it")]
        public static partial void LeftRunning(ILogger logger, string patch, int pid, string output);
    }
}
