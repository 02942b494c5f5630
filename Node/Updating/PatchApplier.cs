using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Updating;

/// <summary>
/// Applies a verified patch by running the upstream list's command ("{file}" in its arguments becomes the
/// blob's path; no shell unless the list names one). Exit code 0 means applied; output is logged and its
/// tail kept for the error message; a command over its time limit is killed with its children.
/// </summary>
internal sealed partial class PatchApplier(NodeOptions options, ILogger<PatchApplier> logger)
{
    private const int TailChars = 4096;

    public async Task<(bool Ok, string? Error)> ApplyAsync(PatchSpec patch, string file, CancellationToken ct)
    {
        var workDir = Path.Combine(options.DataDir, "work");
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
        var limit = patch.Apply.Timeout ?? options.ApplyTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
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
    }
}
