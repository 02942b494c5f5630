using System.ComponentModel;
using System.Diagnostics;
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
internal sealed partial class PatchApplier(CoreOptions core, SourcesOptions sources, ILogger<PatchApplier> logger) : IPatchApplier
{
    private const int TailChars = 4096;

    public async Task<(bool Ok, string? Error)> ApplyAsync(PatchSpec patch, string file, CancellationToken ct)
    {
        var workDir = Path.Combine(core.DataDir, "work");
        Directory.CreateDirectory(workDir);
        var psi = new ProcessStartInfo(patch.Apply.Command)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workDir,
        };
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
            return (false, $"cannot start '{patch.Apply.Command}': {e.Message}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // A started apply command runs to its end or its own limit, whatever happens to the pass: a caller that gives
        // up (or a pass deadline) must not kill dpkg or an installer halfway and leave the PC half-patched.
        var limit = patch.Apply.Timeout ?? sources.ApplyTimeout;
        using var timeout = new CancellationTokenSource(limit);
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

        return (false, $"apply command exited with {process.ExitCode}" + (lastOutput.Length > 0 ? $": {lastOutput}" : string.Empty));
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
    }
}
