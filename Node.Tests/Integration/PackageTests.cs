using System.Diagnostics;
using System.Reflection;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 7: tools/package/build-deb.sh builds peerpatch_VERSION_amd64.deb; it is inspected (dpkg-deb --info and
/// --contents, systemd-analyze verify of the unit, lintian where installed), installed with dpkg into a throwaway
/// root (maintainer scripts run chrootless with DPKG_ROOT, so nothing outside that root changes), its binaries run,
/// and `dpkg --purge` leaves nothing behind.
/// </summary>
public sealed class PackageTests(ITestOutputHelper output)
{
    /// <summary>The package's size limit (issue 15).</summary>
    private const long MaxDebBytes = 20L << 20;

    private static readonly string RepoRoot =
        typeof(PackageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    [RootFact] // dpkg --root installs files owned by root
    public async Task DebPackage_InspectsInstallsRunsAndPurgesWithoutATrace()
    {
        // Packs the executables tools/test.sh published (the ones every other real-process test ran), not new ones.
        var built = await ExternalCommand.RunAsync(
            RepoRoot, Path.Combine(RepoRoot, "tools", "package", "build-deb.sh"), [], allowFailure: false, new Dictionary<string, string> { ["PEERPATCH_NO_PUBLISH"] = "1" });
        var deb = Path.Combine(RepoRoot, built.Stdout.Trim().Split('\n')[^1]);
        Assert.True(File.Exists(deb), built.Stdout + built.Stderr);
        Assert.Matches(@"peerpatch_\d+\.\d+\.\d+_amd64\.deb$", deb);
        Assert.True(new FileInfo(deb).Length <= MaxDebBytes, $"{deb}: {new FileInfo(deb).Length} bytes, more than {MaxDebBytes} (issue 15: Native AOT keeps it under 20 MiB)");

        var info = (await ExternalCommand.RunAsync(RepoRoot, "dpkg-deb", "--info", deb)).Stdout;
        Assert.Contains("Package: peerpatch", info, StringComparison.Ordinal);
        Assert.Contains("Architecture: amd64", info, StringComparison.Ordinal);
        foreach (var script in new[] { "postinst", "prerm", "postrm", "conffiles" })
        {
            Assert.Contains(script, info, StringComparison.Ordinal);
        }

        var contents = (await ExternalCommand.RunAsync(RepoRoot, "dpkg-deb", "--contents", deb)).Stdout;
        foreach (var path in new[]
        {
            "./usr/bin/peerpatch -> ../lib/peerpatch/peerpatch", "./usr/bin/peerpatch-diag -> ../lib/peerpatch/peerpatch-diag", "./usr/lib/peerpatch/peerpatch",
            "./usr/lib/peerpatch/peerpatch-diag", "./usr/lib/peerpatch/libe_sqlite3.so", "./lib/systemd/system/peerpatch.service", "./etc/peerpatch/peerpatch.json",
        })
        {
            Assert.Contains(path, contents, StringComparison.Ordinal);
        }

        using var dir = new TempDir();
        var extracted = dir.Sub("extracted");
        await ExternalCommand.RunAsync(RepoRoot, "dpkg-deb", "-x", deb, extracted);
        await VerifyUnitAsync(extracted, dir.Sub("unit"));
        if (File.Exists("/usr/bin/lintian"))
        {
            // Clean: no error and no warning (the one override, zlib inside the self-contained runtime, is explained in the package).
            var lint = await ExternalCommand.RunAsync(RepoRoot, "lintian", [deb], allowFailure: true);
            Assert.True(lint.ExitCode == 0, lint.Stdout + lint.Stderr);
            Assert.DoesNotMatch(@"(?m)^[EW]: ", lint.Stdout);
            output.WriteLine($"lintian: clean{lint.Stdout.Trim()}");
        }
        else
        {
            output.WriteLine("lintian not installed: not run");
        }

        // A throwaway root with an empty dpkg database.
        var root = dir.Sub("root");
        Directory.CreateDirectory(Path.Combine(root, "var", "lib", "dpkg", "info"));
        Directory.CreateDirectory(Path.Combine(root, "var", "lib", "dpkg", "updates"));
        await File.WriteAllTextAsync(Path.Combine(root, "var", "lib", "dpkg", "status"), "");
        var before = Snapshot(root);
        await ExternalCommand.RunAsync(RepoRoot, "dpkg", "--root", root, "--force-script-chrootless", "--force-depends", "-i", deb);

        var version = await ExternalCommand.RunAsync(root, Path.Combine(root, "usr", "bin", "peerpatch"), "--version");
        Assert.StartsWith(File.ReadAllText(Path.Combine(RepoRoot, "Directory.Build.props")).Split("<Version>")[1].Split("</Version>")[0], version.Stdout, StringComparison.Ordinal);
        var help = await ExternalCommand.RunAsync(root, Path.Combine(root, "usr", "bin", "peerpatch-diag"), "--help");
        foreach (var command in new[] { "nodes", "server", "patches", "stats", "health", "watch" })
        {
            Assert.Contains(command, help.Stdout, StringComparison.Ordinal);
        }

        Assert.True(Directory.Exists(Path.Combine(root, "var", "lib", "peerpatch")), "postinst did not create the data directory");
        await RunInstalledNodeAsync(Path.Combine(root, "usr", "bin", "peerpatch"), dir.Sub("node"));
        Assert.Contains("\"apt\"", await File.ReadAllTextAsync(Path.Combine(root, "etc", "peerpatch", "peerpatch.json")), StringComparison.Ordinal);

        await ExternalCommand.RunAsync(RepoRoot, "dpkg", "--root", root, "--force-script-chrootless", "--purge", "peerpatch");
        var after = Snapshot(root);
        Assert.Equal(before, after);
        output.WriteLine($"{Path.GetFileName(deb)}: {new FileInfo(deb).Length} bytes; installed into a throwaway root, ran {version.Stdout.Trim()} and peerpatch-diag --help, purged: {after.Count} paths outside dpkg's database, as before");
    }

    /// <summary>
    /// Starts the installed node through its /usr/bin symlink (loopback only, no discovery, no source) and waits for its
    /// first /v1/status: the executable runs from the package's layout, and SQLite (libe_sqlite3.so beside it) loads,
    /// since the node opens its database before it answers.
    /// </summary>
    private async Task RunInstalledNodeAsync(string executable, string data)
    {
        var (udp, http) = FreePorts.Pair();
        Directory.CreateDirectory(data);
        var config = Path.Combine(data, "config.json");
        await File.WriteAllTextAsync(config, """{"MdnsInterfaces":["lo"],"ClusterKeyFile":"none","Sources":["none"]}""");
        var psi = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "run", "--data", Path.Combine(data, "state"), "--port", $"{udp}", "--http-port", $"{http}", "--bind", "127.0.0.1", "--update-interval", "0", "--os-version", "test-1-amd64", "--config", config })
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var watch = Stopwatch.StartNew();
            string? status = null;
            while (status is null && watch.Elapsed < TimeSpan.FromSeconds(30) && !process.HasExited)
            {
                try
                {
                    status = await client.GetStringAsync(new Uri($"http://127.0.0.1:{http}/v1/status"));
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    await Task.Delay(50);
                }
            }

            Assert.True(status is not null, $"the installed node did not answer /v1/status (exited: {process.HasExited})");
            Assert.Contains("\"nodeId\"", status, StringComparison.Ordinal);
            output.WriteLine($"installed node answered /v1/status {watch.ElapsedMilliseconds} ms after it was started");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await ChildProcess.ExitWithinAsync(process, TimeSpan.FromSeconds(30), "the installed node after its kill");
            output.WriteLine(await stdout.WaitAsync(TimeSpan.FromSeconds(30)) + await stderr.WaitAsync(TimeSpan.FromSeconds(30)));
        }
    }

    /// <summary>systemd-analyze verify prints a line for every problem (and still exits 0): the unit must produce none.</summary>
    private async Task VerifyUnitAsync(string extracted, string scratch)
    {
        if (!File.Exists("/usr/bin/systemd-analyze"))
        {
            output.WriteLine("systemd-analyze not installed: unit not verified");
            return;
        }

        Directory.CreateDirectory(scratch);
        var unit = (await File.ReadAllTextAsync(Path.Combine(extracted, "lib", "systemd", "system", "peerpatch.service")))
            .Replace("ExecStart=/usr/bin/peerpatch", $"ExecStart={extracted}/usr/bin/peerpatch", StringComparison.Ordinal); // the binary exists there
        var path = Path.Combine(scratch, "peerpatch.service");
        await File.WriteAllTextAsync(path, unit);
        var verify = await ExternalCommand.RunAsync(scratch, "systemd-analyze", ["verify", "--man=no", path], allowFailure: true);
        Assert.True(verify.ExitCode == 0 && (verify.Stdout + verify.Stderr).Trim().Length == 0, $"systemd-analyze verify: {verify.Stdout}{verify.Stderr}");

        // The check can fail: a unit with a typo is reported.
        var broken = Path.Combine(scratch, "broken.service");
        await File.WriteAllTextAsync(broken, unit.Replace("Type=notify", "Type=notifyy", StringComparison.Ordinal));
        var reported = await ExternalCommand.RunAsync(scratch, "systemd-analyze", ["verify", "--man=no", broken], allowFailure: true);
        Assert.Contains("notifyy", reported.Stdout + reported.Stderr, StringComparison.Ordinal);
    }

    private static SortedSet<string> Snapshot(string root) =>
        new(Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p))
            .Where(p => !p.StartsWith("var/lib/dpkg", StringComparison.Ordinal)), StringComparer.Ordinal);
}
