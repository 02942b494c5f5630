using System.Diagnostics;
using System.Globalization;

namespace PeerPatch.Node.Sources;

/// <summary>
/// The installer that a node started under the apply lock, as that node wrote it down in &lt;data&gt;/work/install.pid:
/// its pid (flock's), the kernel's start time of that pid (field 22 of /proc/PID/stat, so a reused pid is never taken
/// for it), and when its time limit ends, in <see cref="Environment.TickCount64"/> milliseconds: time since boot, one
/// clock for every run of the node until a reboot, which ends the installer anyway. A node restarted after a stop or a
/// kill uses it to end an installer that outlives its own limit, as the node that started it would have. The boot's id
/// (/proc/sys/kernel/random/boot_id) is kept too: after a reboot a pid and a start time could name another process.
/// </summary>
internal sealed record InstallerRecord(int Pid, long StartTime, long DeadlineMs, string BootId)
{
    /// <summary>Writes the record (temp file and rename: a reader sees a whole record or the one before).</summary>
    public static void Write(string path, int pid, TimeSpan limit)
    {
        if (StartTimeOf(pid) is not { } start || CurrentBootId() is not { } boot)
        {
            return; // it ended already (or this kernel cannot tell which boot it is)
        }

        var deadline = Environment.TickCount64 + (long)Math.Min(limit.TotalMilliseconds, long.MaxValue / 4);
        var temp = path + ".tmp";
        File.WriteAllText(temp, string.Create(CultureInfo.InvariantCulture, $"{pid} {start} {deadline} {boot}\n"));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The record, or null when there is none or it cannot be read (then nothing is killed).</summary>
    public static InstallerRecord? Read(string path)
    {
        try
        {
            var parts = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return parts.Length == 4
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 1
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
                && long.TryParse(parts[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var deadline)
                && Guid.TryParse(parts[3], out _)
                ? new InstallerRecord(pid, start, deadline, parts[3])
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The process still runs (the same one: the same boot, and its pid and start time match).</summary>
    public bool IsRunning => BootId == CurrentBootId() && StartTimeOf(Pid) == StartTime;

    /// <summary>This boot's id, or null where the kernel does not say.</summary>
    internal static string? CurrentBootId()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public bool IsOverItsLimit => Environment.TickCount64 > DeadlineMs;

    /// <summary>Kills the installer and its children, if it is still the recorded process. True when it was killed.</summary>
    public bool Kill()
    {
        try
        {
            using var process = Process.GetProcessById(Pid);
            if (!IsRunning)
            {
                return false;
            }

            process.Kill(entireProcessTree: true);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false; // gone meanwhile, or not ours to kill
        }
    }

    /// <summary>Field 22 of /proc/PID/stat (clock ticks after boot), or null when there is no such process.</summary>
    internal static long? StartTimeOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields start after the last ')'.
        var close = stat.LastIndexOf(')');
        var fields = close < 0 ? [] : stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? start : null;
    }
}
