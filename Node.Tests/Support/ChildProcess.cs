using System.Diagnostics;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// Bounded waits on a child process (python3, a CLI): at the bound the process is killed with its children, so it
/// does not outlive the test, and the test fails with a <see cref="TimeoutException"/> that names it.
/// </summary>
internal static class ChildProcess
{
    /// <summary>Waits until <paramref name="process"/> exits; kills it and fails after <paramref name="bound"/>.</summary>
    public static async Task ExitWithinAsync(Process process, TimeSpan bound, string what)
    {
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Kill(process);
            throw new TimeoutException($"{what} did not exit within {bound.TotalSeconds:0} s (killed)");
        }
    }

    /// <summary>The next line <paramref name="process"/> writes; kills it and fails when none comes within <paramref name="bound"/>.</summary>
    public static async Task<string?> ReadLineWithinAsync(Process process, TimeSpan bound, string what)
    {
        var line = process.StandardOutput.ReadLineAsync();
        try
        {
            return await line.WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            Kill(process);
            throw new TimeoutException($"{what}: no line within {bound.TotalSeconds:0} s (killed)");
        }
    }

    /// <summary>Kills <paramref name="process"/> (and its children) when disposed: a test that fails midway leaves nothing running.</summary>
    public static IDisposable KillOnDispose(Process process) => new Killer(process);

    /// <summary>Kills <paramref name="process"/> and its children, if it still runs.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // it exited meanwhile
        }
    }

    private sealed class Killer(Process process) : IDisposable
    {
        public void Dispose() => Kill(process);
    }
}
