using System.CommandLine;
using System.Diagnostics;

namespace PeerPatch.Node.Cli;

/// <summary>
/// `peerpatch service install|uninstall` (Windows): registers this executable as the "PeerPatch" Windows service
/// (`run`, automatic start, restarted after a failure) with the system's own sc.exe; the node then runs under the
/// Service Control Manager through UseWindowsService. On Linux the .deb's systemd unit does this.
/// </summary>
internal static class ServiceCommand
{
    public const string Name = "PeerPatch";

    public static Command Create()
    {
        var install = new Command("install", "Register and start the PeerPatch Windows service (automatic start, restart on failure).");
        install.SetAction(_ => WindowsOnly(() =>
        {
            var exe = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell this executable's path");
            return Sc("create", Name, "binPath=", $"\"{exe}\" run", "start=", "auto", "DisplayName=", "PeerPatch node")
                ?? Sc("description", Name, "LAN-shared OS patches: each update downloaded once per LAN.")
                ?? Sc("failure", Name, "reset=", "86400", "actions=", "restart/5000/restart/5000/restart/60000")
                ?? Sc("start", Name);
        }));

        var uninstall = new Command("uninstall", "Stop and remove the PeerPatch Windows service.");
        uninstall.SetAction(_ => WindowsOnly(() =>
        {
            Sc("stop", Name); // it may not be running
            return Sc("delete", Name);
        }));

        return new Command("service", "Install PeerPatch as a Windows service (on Linux, use the .deb's systemd unit).") { install, uninstall };
    }

    private static int WindowsOnly(Func<int?> action)
    {
        if (!OperatingSystem.IsWindows())
        {
            Console.Error.WriteLine("peerpatch: `service` manages the Windows service; on Debian/Ubuntu install the .deb (systemd runs peerpatch.service)");
            return 2;
        }

        try
        {
            return action() ?? 0;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"peerpatch: {e.Message}");
            return 2;
        }
    }

    /// <summary>Runs sc.exe; null on success, else its exit code (after printing its output).</summary>
    private static int? Sc(params string[] args)
    {
        var psi = new ProcessStartInfo("sc.exe") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode == 0)
        {
            return null;
        }

        Console.Error.WriteLine($"sc.exe {string.Join(' ', args)}: {text.Trim()}");
        return process.ExitCode;
    }
}
