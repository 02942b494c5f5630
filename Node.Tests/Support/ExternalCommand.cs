using System.Diagnostics;

namespace PeerPatch.Node.Tests.Support;

/// <summary>Runs a program to its end (8 minutes at most) and returns its exit code and output; fails the test on a non-zero exit unless allowed.</summary>
internal static class ExternalCommand
{
    public static Task<CliResult> RunAsync(string cwd, string file, params string[] args) => RunAsync(cwd, file, args, allowFailure: false);

    public static async Task<CliResult> RunAsync(string cwd, string file, string[] args, bool allowFailure, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 8 minutes");
        }

        // Its output ends when the last process holding it (a child it left in the background, too) closes it.
        var result = new CliResult(process.ExitCode, await stdout.WaitAsync(TimeSpan.FromMinutes(1)), await stderr.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.True(allowFailure || result.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {result.ExitCode}: {result.Stdout}{result.Stderr}");
        return result;
    }
}
