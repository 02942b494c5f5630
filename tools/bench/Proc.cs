using System.Diagnostics;
using System.Globalization;

namespace PeerPatch.Bench;

/// <summary>Child processes the benchmarks start (nodes, nginx, curl), always killed by pid at the end.</summary>
internal static class Proc
{
    private static readonly List<Process> Started = [];

    public static Process Start(string file, params IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (Started)
        {
            Started.Add(process);
        }

        return process;
    }

    public static async Task<(int Code, string Out, string Err)> RunAsync(string file, params IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    public static void KillAll()
    {
        lock (Started)
        {
            foreach (var p in Started)
            {
                try
                {
                    if (!p.HasExited)
                    {
                        p.Kill(entireProcessTree: true);
                        p.WaitForExit(5000);
                    }
                }
                catch (InvalidOperationException)
                {
                }
            }

            Started.Clear();
        }
    }

    /// <summary>
    /// CPU seconds (user + system, every thread) a process has used, from /proc/PID/stat (utime, stime, in clock
    /// ticks of 1/100 s as Linux reports them to user space); NaN when it is gone.
    /// </summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after "PID (comm) ": field 3 (state) is [0]
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>
    /// Context switches (voluntary and not) of every thread of a process so far, from /proc/PID/task/*/status: an idle
    /// process's wake-ups; 0 when it is gone.
    /// </summary>
    public static long ContextSwitches(int pid)
    {
        long total = 0;
        try
        {
            foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
        }
        catch (IOException)
        {
            // a thread or the process ended meanwhile: what was read so far
        }

        return total;
    }

    /// <summary>VmRSS of a process in bytes (0 when gone).</summary>
    public static long Rss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
