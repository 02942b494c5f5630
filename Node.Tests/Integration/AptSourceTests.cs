using System.Security.Cryptography;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 4, the apt source: a node whose patch list is its PC's pending apt upgrades (a private apt root whose dpkg
/// status lists older versions than the test repository) runs full passes in dry-run mode: list, lookup, fetch,
/// verify against apt's SHA-256, stage into apt's archive cache, install nothing.
/// </summary>
[Trait("Category", "Network")]
public sealed partial class AptSourceTests(ITestOutputHelper output)
{
    internal const string Installed = """
        Package: pp-alpha
        Status: install ok installed
        Maintainer: PeerPatch tests <tests@example.invalid>
        Architecture: all
        Version: 0.5
        Description: older alpha

        Package: pp-bravo
        Status: install ok installed
        Maintainer: PeerPatch tests <tests@example.invalid>
        Architecture: all
        Version: 2.0
        Description: older bravo

        """;

    [Fact]
    public async Task AptSourceDryRun_StagesEveryPendingUpgradeVerified_TheSecondPcFromTheLan_AndInstallsNothing()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 400_000), ("pp-bravo", "2.1", 900_000), ("pp-charlie", "0.9", 100_000)]);
        using var dir = new TempDir();
        var pc1 = new AptRoot(dir.Sub("apt1"), repo.SourcesLine, proxy: null, status: Installed);
        var pc2 = new AptRoot(dir.Sub("apt2"), repo.SourcesLine, proxy: null, status: Installed);
        await using var server = await NodeProcess.StartWithConfigAsync("pc1", dir.Sub("node1"), Config(pc1), "--role", "server", "--source", "apt");
        await using var client = await NodeProcess.StartWithConfigAsync("pc2", dir.Sub("node2"), Config(pc2), "--server", server.ServerAddress, "--source", "apt");
        var upgrades = repo.Packages.Where(p => p.Package is "pp-alpha" or "pp-bravo").ToList(); // pp-charlie is not installed

        foreach (var (node, pc, from) in new[] { (server, pc1, "internet"), (client, pc2, "lan") })
        {
            var result = await NodeProcess.RunCliAsync("update", "--node", node.Http.ToString(), "--json", "--dry-run");
            output.WriteLine($"{node.Name}: {string.Join('\n', result.Outcomes)}\n{result.Summary}");
            Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + node.Output);
            Assert.Equal(upgrades.Select(u => Path.GetFileName(u.Filename)).Order(), result.Outcomes.Select(o => o.GetProperty("patch").GetString()!).Order());
            foreach (var o in result.Outcomes)
            {
                Assert.True(o.GetProperty("dryRun").GetBoolean());
                Assert.False(o.GetProperty("applied").GetBoolean());
                Assert.Equal(JsonValueKind.Null, o.GetProperty("error").ValueKind);
                Assert.Equal(from, o.GetProperty("from").GetString());
            }

            Assert.Equal(2, result.Summary.GetProperty("ready").GetInt32());
            Assert.Equal(0, result.Summary.GetProperty("failed").GetInt32());
            foreach (var u in upgrades)
            {
                await using var staged = File.OpenRead(Path.Combine(pc.Archives, Path.GetFileName(u.Filename)));
                Assert.Equal(u.Sha256, Convert.ToHexStringLower(await SHA256.HashDataAsync(staged)));
            }

            Assert.Equal(Installed, await File.ReadAllTextAsync(Path.Combine(pc.Root, "state", "status"))); // nothing installed
            Assert.Contains("dry run: 2 verified packages are in apt's archive cache; not installing", node.Output, StringComparison.Ordinal);
        }

        foreach (var u in upgrades)
        {
            Assert.Equal(1, repo.Requests(u.Filename));
        }

        Assert.Equal(0, repo.Requests(repo.Packages.Single(p => p.Package == "pp-charlie").Filename));
        output.WriteLine($"apt source: {upgrades.Count} upgrades, upstream served {upgrades.Sum(u => repo.BytesServed(u.Filename))} of {upgrades.Sum(u => u.Size)} unique bytes once; PC 2 got them from the LAN");
    }

    /// <summary>
    /// A pass that is not a dry run ends with apt-get dist-upgrade, the PC's real install: here into a throwaway root
    /// (real apt-get and dpkg, maintainer scripts chrootless), through the node's installer runner (under the apply lock,
    /// its output in the node's install.out). apt installs the packages the node staged, verified, in its archive cache:
    /// the repository serves each once, to the node.
    /// </summary>
    [Fact]
    public async Task AptSourcePass_InstallsThePendingUpgradesWithRealDpkg_FromWhatTheNodeStaged()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 400_000), ("pp-bravo", "2.1", 900_000), ("pp-charlie", "0.9", 100_000)]);
        using var dir = new TempDir();
        var root = dir.Sub("root");
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed, dpkgRoot: root);
        await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), Config(pc), "--role", "server", "--source", "apt");

        var result = await NodeProcess.RunCliAsync("update", "--node", node.Http.ToString(), "--json");

        output.WriteLine($"{string.Join('\n', result.Outcomes)}\n{result.Summary}");
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + node.Output);
        Assert.Equal(2, result.Summary.GetProperty("applied").GetInt32());
        foreach (var (package, version) in new[] { ("pp-alpha", "1.0"), ("pp-bravo", "2.1") })
        {
            var status = (await ExternalCommand.RunAsync("/", "dpkg", ["--root", root, "-s", package], allowFailure: true)).Stdout;
            Assert.Contains("Status: install ok installed", status, StringComparison.Ordinal);
            Assert.Contains($"Version: {version}", status, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(root, "usr", "share", package, "payload.bin")), $"{package}'s files are not in the root");
        }

        Assert.False(Directory.Exists(Path.Combine(root, "usr", "share", "pp-charlie")), "a package that was not installed was installed");
        Assert.Contains("apt-get dist-upgrade installed the 2 staged packages", node.Output, StringComparison.Ordinal);
        var installOutput = await File.ReadAllTextAsync(Path.Combine(node.DataDir, "work", "install.out"));
        output.WriteLine(installOutput);
        Assert.Contains("Setting up pp-alpha (1.0)", installOutput, StringComparison.Ordinal);
        Assert.Contains("apt-get dist-upgrade | Setting up pp-bravo (2.1)", node.Output, StringComparison.Ordinal); // and in the node's log
        foreach (var u in repo.Packages.Where(p => p.Package is "pp-alpha" or "pp-bravo"))
        {
            Assert.Equal(1, repo.Requests(u.Filename)); // apt installed the copy the node staged: nothing downloaded again
        }
    }

    /// <summary>
    /// Another dpkg frontend (unattended-upgrades, an admin's apt) holding dpkg's lock when the pass installs: apt-get
    /// waits for it (DPkg::Lock::Timeout, bounded by a third of ApplyTimeout) and installs after, instead of failing the
    /// pass at once ("Could not get lock"). The lock is apt's own kind (fcntl), held by another process.
    /// </summary>
    [Fact]
    public async Task AptSourcePass_WhileAnotherDpkgFrontendHoldsItsLock_WaitsForIt_ThenInstalls()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 40_000), ("pp-bravo", "2.1", 90_000)]);
        using var dir = new TempDir();
        var root = dir.Sub("root");
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed, dpkgRoot: root);
        await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), Config(pc), "--role", "server", "--source", "apt");

        using var holder = await AptRoot.HoldAptLockAsync(Path.Combine(root, "var", "lib", "dpkg", "lock-frontend"), 6);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await NodeProcess.RunCliAsync("update", "--node", node.Http.ToString(), "--json");
        var took = clock.Elapsed;
        var holderEnded = holder.HasExited;

        output.WriteLine($"pass took {took.TotalSeconds:0.0} s (the lock was held 6 s); {result.Summary}");
        output.WriteLine(await File.ReadAllTextAsync(Path.Combine(node.DataDir, "work", "install.out")));
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + node.Output);
        Assert.True(holderEnded, "the pass ended while the other frontend still held dpkg's lock");
        Assert.Contains("Version: 1.0", (await ExternalCommand.RunAsync("/", "dpkg", ["--root", root, "-s", "pp-alpha"], allowFailure: true)).Stdout, StringComparison.Ordinal);
        Assert.Contains("Version: 2.1", (await ExternalCommand.RunAsync("/", "dpkg", ["--root", root, "-s", "pp-bravo"], allowFailure: true)).Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// The install fails (another frontend holds dpkg's lock longer than the pass waits): the staged packages are
    /// reported failed, not applied, and the next pass installs them. Staging into apt's cache is not installing: apt's
    /// own state says what is installed, and the node records nothing that would make it skip them next time.
    /// </summary>
    [Fact]
    public async Task AptSourcePass_WhoseInstallFails_ReportsThePackagesFailed_AndTheNextPassInstallsThem()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 40_000), ("pp-bravo", "2.1", 90_000)]);
        using var dir = new TempDir();
        var root = dir.Sub("root");
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed, dpkgRoot: root);
        // ApplyTimeout 6 s: apt waits at most 2 s for dpkg's lock.
        var config = JsonSerializer.Serialize(new { AptConfigFile = pc.ConfigFile, ApplyTimeout = "00:00:06" });
        await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), config, "--role", "server", "--source", "apt");

        CliResult first;
        using (var holder = await AptRoot.HoldAptLockAsync(Path.Combine(root, "var", "lib", "dpkg", "lock-frontend"), 60))
        {
            first = await NodeProcess.RunCliAsync("update", "--node", node.Http.ToString(), "--json");
            holder.Kill();
            await holder.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        output.WriteLine($"first: {first.Summary}");
        Assert.Equal(1, first.ExitCode);
        Assert.Equal(0, first.Summary.GetProperty("applied").GetInt32());
        Assert.Contains("Version: 0.5", (await ExternalCommand.RunAsync("/", "dpkg", ["--root", root, "-s", "pp-alpha"], allowFailure: true)).Stdout, StringComparison.Ordinal);

        var second = await NodeProcess.RunCliAsync("update", "--node", node.Http.ToString(), "--json");
        output.WriteLine($"second: {string.Join('\n', second.Outcomes)}\n{second.Summary}");
        Assert.True(second.ExitCode == 0, second.Stdout + second.Stderr + node.Output);
        Assert.Equal(2, second.Summary.GetProperty("applied").GetInt32());
        Assert.Contains("Version: 1.0", (await ExternalCommand.RunAsync("/", "dpkg", ["--root", root, "-s", "pp-alpha"], allowFailure: true)).Stdout, StringComparison.Ordinal);
        Assert.Contains("Version: 2.1", (await ExternalCommand.RunAsync("/", "dpkg", ["--root", root, "-s", "pp-bravo"], allowFailure: true)).Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Another apt updating the lists when the pass starts (apt's lists lock held): the pass reads the lists as they
    /// are, says so, and goes on, rather than failing the whole source.
    /// </summary>
    [Fact]
    public async Task AptSourcePass_WhileAnotherAptHoldsTheListsLock_UsesTheListsAsTheyAre_AndSaysSo()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 40_000), ("pp-bravo", "2.1", 90_000)]);
        using var dir = new TempDir();
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed, dpkgRoot: dir.Sub("root"));
        await pc.AptGetAsync("update", "-qq"); // the lists an earlier update left
        await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), Config(pc), "--role", "server", "--source", "apt");

        using var holder = await AptRoot.HoldAptLockAsync(Path.Combine(pc.Root, "state", "lists", "lock"), 30);
        try
        {
            var result = await NodeProcess.RunCliAsync("update", "--node", node.Http.ToString(), "--json", "--dry-run");

            output.WriteLine($"{string.Join('\n', result.Outcomes)}\n{result.Summary}");
            Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + node.Output);
            Assert.Equal(2, result.Summary.GetProperty("ready").GetInt32());
            Assert.Contains("another apt holds the lists' lock (E: Could not get lock", node.Output, StringComparison.Ordinal);
        }
        finally
        {
            holder.Kill();
        }
    }

    /// <summary>
    /// Issue 18: a package whose SHA-256 cannot be read from apt's lists (here: every list is cut by AptListMaxBytes) is
    /// never skipped quietly: it is an outcome with the reason, the summary counts it failed, the exit code is 1, and
    /// nothing is downloaded unverified.
    /// </summary>
    [Fact]
    public async Task PackagesWithoutAReadableSha256_CountAsFailedWithTheReason_AndAreNotDownloaded()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 40_000), ("pp-bravo", "2.1", 90_000)]);
        using var dir = new TempDir();
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed);
        await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), JsonSerializer.Serialize(new { AptConfigFile = pc.ConfigFile, AptListMaxBytes = 100 }), "--role", "server", "--source", "apt");

        var result = await NodeProcess.RunCliAsync("update", "--node", node.Http.ToString(), "--json", "--dry-run");
        output.WriteLine($"{string.Join('\n', result.Outcomes)}\n{result.Summary}");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(2, result.Outcomes.Count);
        foreach (var o in result.Outcomes)
        {
            var error = o.GetProperty("error").GetString()!;
            Assert.StartsWith("not shared: no SHA-256 for it in apt's trusted Packages lists", error, StringComparison.Ordinal);
            Assert.Contains("printed more than 100 bytes", error, StringComparison.Ordinal);
            Assert.False(o.GetProperty("applied").GetBoolean());
        }

        Assert.Equal(2, result.Summary.GetProperty("failed").GetInt32());
        Assert.Equal(0, result.Summary.GetProperty("ready").GetInt32());
        Assert.All(repo.Packages, p => Assert.Equal(0, repo.Requests(p.Filename)));
        Assert.Contains("pp-alpha_1.0_all.deb failed: not shared: no SHA-256", node.Output, StringComparison.Ordinal);
        Assert.Contains("2 failed", node.Output, StringComparison.Ordinal);

        // What peerpatch-diag reads (nodes table, health "updates"): the node's last pass with its failures.
        var last = (await node.StatusAsync()).GetProperty("lastPass");
        Assert.Equal(2, last.GetProperty("failed").GetInt32());
        Assert.Equal(2, last.GetProperty("failures").GetArrayLength());
        Assert.All(last.GetProperty("failures").EnumerateArray(), f => Assert.Contains(": not shared: no SHA-256", f.GetString()!, StringComparison.Ordinal));
    }

    /// <summary>Issue 18: a node with no source configured, on this Debian PC with apt, takes apt as its source and says so.</summary>
    [Fact]
    public async Task NoSourceConfigured_OnThisDebianPc_TheNodeTakesApt_AndSaysSo()
    {
        using var dir = new TempDir();
        await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("node"), """{"Sources":[]}""");
        Assert.Contains("no patch source configured and this PC has apt: its pending apt upgrades are the source", node.Output, StringComparison.Ordinal);
    }

    private static string Config(AptRoot pc) => JsonSerializer.Serialize(new { AptConfigFile = pc.ConfigFile });
}
