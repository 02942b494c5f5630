using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using System.Net.Http.Json;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Status;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Outside probe of the apt source (62829a2, b3002e0): this machine's real apt (read only: --print-uris and -s read
/// the local lists, nothing is downloaded or installed), and passes into a throwaway dpkg root.
/// </summary>
[Trait("Category", "Network")]
public sealed partial class AptProbeTests(ITestOutputHelper output)
{
    /// <summary>The dpkg status AptSourceTests uses: pp-alpha 0.5 and pp-bravo 2.0 installed.</summary>
    internal const string Installed = AptSourceTests.Installed;

    internal static AptSource Source(SourcesOptions options, string dataDir)
    {
        var apt = new AptCommands(options, TimeProvider.System);
        var installer = new InstallRunner(new CoreOptions { DataDir = dataDir }, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), TimeProvider.System, NullLogger<InstallRunner>.Instance);
        return new AptSource(options, new CoreOptions { DataDir = dataDir }, apt, new AptListHashes(apt, options), installer, TimeProvider.System, NullLogger<AptSource>.Instance);
    }

    /// <summary>"Inst bash [5.2.15-2+b2] (5.2.15-2+b13 Debian:12.13/oldstable [amd64])" -> bash_5.2.15-2+b13_amd64.deb.</summary>
    private static List<string> SimulatedInstalls(string simulate) =>
        [.. InstLine().Matches(simulate).Select(m =>
        {
            var version = m.Groups["ver"].Value;
            var colon = version.IndexOf(':', StringComparison.Ordinal);
            return $"{m.Groups["pkg"].Value}_{(colon < 0 ? version : version[(colon + 1)..])}_{m.Groups["arch"].Value}.deb";
        })];

    [GeneratedRegex(@"^Inst (?<pkg>\S+) (?:\[[^\]]*\] )?\((?<ver>\S+) .*\[(?<arch>[^\]]+)\]\)", RegexOptions.Multiline)]
    private static partial Regex InstLine();

    /// <summary>
    /// Brief item 1: this machine's own apt (Debian 12, lz4-compressed lists, ~136 pending upgrades): every 'Inst' line of
    /// apt-get -s dist-upgrade is a patch with a SHA-256 or an explicit unverifiable one, never silently missing.
    /// </summary>
    [AptListsFact]
    public async Task ThisMachinesApt_EveryPendingUpgradeOfAptGetSimulate_IsAPatch()
    {
        using var dir = new TempDir();
        var options = new SourcesOptions { AptUpdateLists = false };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var patches = await Source(options, dir.Sub("data")).GetPatchesAsync("debian-12-amd64", CancellationToken.None);
        var took = clock.Elapsed;
        var simulate = (await ExternalCommand.RunAsync("/", "apt-get", ["-s", "dist-upgrade"], allowFailure: false)).Stdout;
        var expected = SimulatedInstalls(simulate);

        output.WriteLine($"apt-get -s: {expected.Count} Inst lines; the source: {patches.Count} patches ({patches.Count(p => p.Unverifiable is null)} with a SHA-256) in {took.TotalSeconds:0.0} s");
        foreach (var p in patches.Where(p => p.Unverifiable is not null))
        {
            output.WriteLine($"unverifiable: {p.Name}: {p.Unverifiable}");
        }

        Assert.NotEmpty(expected);
        Assert.Equal(expected.Order(StringComparer.Ordinal), patches.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(patches, p => Assert.True(p.Unverifiable is not null || p.Sha256.Length == 64, p.Name));
        Assert.All(patches, p => Assert.Equal("/var/cache/apt/archives/" + Path.GetFileName(p.Apply.Args[^1]), p.Apply.Args[^1]));
    }

    /// <summary>
    /// Brief item 1, the cache: an APT_CONFIG overlay (the system config and parts, Dir::Cache in a scratch dir) with
    /// files named as two pending .debs in its archives: still listed, and staged into the overlay's archives.
    /// </summary>
    [AptListsFact]
    public async Task ThisMachinesApt_WithACacheOverlayHoldingTwoDebs_ListsThemAll_AndStagesIntoTheOverlay()
    {
        using var dir = new TempDir();
        var cache = dir.Sub("cache with space");
        Directory.CreateDirectory(Path.Combine(cache, "archives", "partial"));
        var overlay = dir.Sub("apt.conf");
        await File.WriteAllTextAsync(overlay, $"Dir::Cache \"{cache}/\";\n");
        var options = new SourcesOptions { AptUpdateLists = false, AptConfigFile = overlay };
        var baseline = await Source(new SourcesOptions { AptUpdateLists = false }, dir.Sub("data0")).GetPatchesAsync("debian-12-amd64", CancellationToken.None);
        foreach (var p in baseline.Take(2))
        {
            await File.WriteAllBytesAsync(Path.Combine(cache, "archives", Path.GetFileName(p.Apply.Args[^1])), new byte[p.Size]);
        }

        var patches = await Source(options, dir.Sub("data")).GetPatchesAsync("debian-12-amd64", CancellationToken.None);

        Assert.Equal(baseline.Select(p => p.Name).Order(StringComparer.Ordinal), patches.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(patches.Where(p => p.Unverifiable is null), p => Assert.Equal(Path.Combine(cache, "archives", Path.GetFileName(p.Apply.Args[^1])), p.Apply.Args[^1]));
    }

    /// <summary>
    /// Brief item 2: Dir::Cache::archives relative to Dir::Cache ("debs/"), holding the real .deb of one pending upgrade
    /// (apt itself would print no URI for it): listed with the override, staged into the resolved debs/ directory.
    /// </summary>
    [Fact]
    public async Task RelativeArchivesDir_HoldingARealPendingDeb_ItIsListed_AndStagedIntoTheResolvedDir()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 40_000), ("pp-bravo", "2.1", 90_000)]);
        using var dir = new TempDir();
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed);
        await File.AppendAllTextAsync(pc.ConfigFile, "Dir::Cache::archives \"debs/\";\n");
        var debs = Path.Combine(pc.Root, "cache", "debs");
        Directory.CreateDirectory(Path.Combine(debs, "partial"));
        await pc.AptGetAsync("update", "-qq");
        var alpha = repo.Packages.Single(p => p.Package == "pp-alpha");
        File.Copy(Path.Combine(repo.Root, alpha.Filename), Path.Combine(debs, Path.GetFileName(alpha.Filename)));
        var plain = (await pc.AptGetAsync("--print-uris", "-qq", "-y", "dist-upgrade")).Stdout;
        Assert.DoesNotContain("pp-alpha", plain, StringComparison.Ordinal); // apt sees the cached .deb through the relative setting

        var patches = await Source(new SourcesOptions { AptUpdateLists = false, AptConfigFile = pc.ConfigFile }, dir.Sub("data")).GetPatchesAsync("test-1-amd64", CancellationToken.None);

        Assert.Equal(["pp-alpha_1.0_all.deb", "pp-bravo_2.1_all.deb"], patches.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(patches, p => Assert.Equal(Path.Combine(debs, p.Name), p.Apply.Args[^1]));
    }

    /// <summary>
    /// Brief item 2: the listing's empty archives directory lives under the node's data directory (not TMPDIR, which may
    /// be missing: it failed the whole source with "FileNotFoundException"), here one named with spaces, quotes and a
    /// dollar; it is removed after the listing. (The process's TMPDIR is not changed: tests run in parallel.)
    /// </summary>
    [Fact]
    public async Task TheListingsEmptyArchivesDir_IsUnderAnOddlyNamedDataDir_AndRemoved()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 40_000)]);
        using var dir = new TempDir();
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed);
        await pc.AptGetAsync("update", "-qq");
        var data = dir.Sub("d a't\"a$x=y");
        var source = Source(new SourcesOptions { AptUpdateLists = false, AptConfigFile = pc.ConfigFile }, data);

        var patches = await source.GetPatchesAsync("test-1-amd64", CancellationToken.None);

        Assert.Equal(["pp-alpha_1.0_all.deb"], patches.Select(p => p.Name));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(data, "work"))); // the empty dir is removed
    }

    private static Dictionary<string, string?> AptNode(AptRoot pc, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            [nameof(ClusterOptions.Role)] = "server",
            [nameof(ClusterOptions.Discovery)] = "false",
            [$"{nameof(SourcesOptions.Sources)}:0"] = "apt",
            [nameof(SourcesOptions.AptConfigFile)] = pc.ConfigFile,
        };
        foreach (var (k, v) in more)
        {
            settings[k] = v;
        }

        return settings;
    }

    private static async Task<string> VersionIn(string root, string package)
    {
        var status = (await ExternalCommand.RunAsync("/", "dpkg-query", ["--root", root, "-W", "-f", "${Version} ${Status}", package], allowFailure: true)).Stdout;
        return status.Trim();
    }

    /// <summary>
    /// Brief item 3: a pass that stops at its deadline after a package was staged. UpdateRunner skips every source's
    /// CompletePassAsync then (no install), yet the staged package's outcome stays Applied: PassStates (compliance)
    /// and the summary say applied while dpkg still has the old version.
    /// </summary>
    [Fact]
    public async Task PassStoppedAtItsDeadline_AfterStagingOnePackage_DoesNotReportItApplied()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 20_000), ("pp-bravo", "2.1", 3_000_000)]);
        repo.PoolRateLimit = 300_000; // bravo takes ~10 s, alpha a moment
        using var dir = new TempDir();
        var root = dir.Sub("root");
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed, dpkgRoot: root);
        await using var node = await InProcessNode.StartAsync(dir.Sub("node"), TimeProvider.System, AptNode(pc, (nameof(UpdatingOptions.PassDeadline), "00:00:06")));
        var runner = node.Services.GetRequiredService<UpdateRunner>();
        PassStates? states = null;
        runner.PassEnded += s => states = s;
        var outcomes = new List<PatchOutcome>();

        var summary = (await runner.RunAsync(o => { outcomes.Add(o); return Task.CompletedTask; }, dryRun: false, CancellationToken.None))!;

        output.WriteLine($"summary: applied {summary.Applied}, failed {summary.Failed}, stopped: {summary.Stopped}");
        foreach (var o in outcomes)
        {
            output.WriteLine($"outcome {o.Patch}: applied {o.Applied}, error {o.Error}");
        }

        Assert.NotNull(summary.Stopped);
        Assert.NotNull(states);
        foreach (var p in states.Patches)
        {
            var package = p.Patch!.Split('_')[0];
            var version = await VersionIn(root, package);
            output.WriteLine($"compliance {p.Patch}: {p.State} {p.Detail}; dpkg: {version}");
            if (p.State == ComplianceStates.Applied)
            {
                Assert.StartsWith(p.Patch!.Split('_')[1] + " ", version, StringComparison.Ordinal);
            }
        }

        Assert.Equal(0, summary.Applied); // nothing was installed
    }

    /// <summary>
    /// Brief item 3: apt holds a staged package back (an admin's apt-mark hold, here dpkg --set-selections in the
    /// throwaway root, after the listing and before the install). dist-upgrade succeeds (exit 0, "kept back"): is the
    /// package reported applied while not installed?
    /// </summary>
    [Fact]
    public async Task StagedPackageHeldBackByApt_DistUpgradeSucceeds_IsNotReportedApplied()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 20_000), ("pp-bravo", "2.1", 900_000)]);
        repo.PoolRateLimit = 300_000; // bravo ~3 s: the hold lands while the pass obtains
        using var dir = new TempDir();
        var root = dir.Sub("root");
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed, dpkgRoot: root);
        await using var node = await InProcessNode.StartAsync(dir.Sub("node"), TimeProvider.System, AptNode(pc));
        var runner = node.Services.GetRequiredService<UpdateRunner>();
        PassStates? states = null;
        runner.PassEnded += s => states = s;
        var outcomes = new List<PatchOutcome>();

        var pass = runner.RunAsync(o => { outcomes.Add(o); return Task.CompletedTask; }, dryRun: false, CancellationToken.None);
        var bravo = repo.Packages.Single(p => p.Package == "pp-bravo").Filename;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (repo.Requests(bravo) == 0 && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        Assert.False(pass.IsCompleted, "the pass ended before the hold could be set");
        var psi = new System.Diagnostics.ProcessStartInfo("dpkg", ["--root", root, "--set-selections"]) { RedirectStandardInput = true };
        using (var dpkg = System.Diagnostics.Process.Start(psi)!)
        {
            await dpkg.StandardInput.WriteLineAsync("pp-alpha hold");
            dpkg.StandardInput.Close();
            await ChildProcess.ExitWithinAsync(dpkg, TimeSpan.FromSeconds(60), "dpkg --set-selections");
            Assert.Equal(0, dpkg.ExitCode);
        }

        var summary = (await pass)!;
        output.WriteLine($"summary: applied {summary.Applied}, failed {summary.Failed}; errors {string.Join(" | ", summary.SourceErrors)}");
        output.WriteLine(await File.ReadAllTextAsync(Path.Combine(node.DataDir, "work", "install.out")));
        var alpha = await VersionIn(root, "pp-alpha");
        output.WriteLine($"dpkg: pp-alpha {alpha}; pp-bravo {await VersionIn(root, "pp-bravo")}");
        Assert.StartsWith("0.5 hold ", alpha, StringComparison.Ordinal); // apt kept it back
        var reported = states!.Patches.Single(p => p.Patch == "pp-alpha_1.0_all.deb");
        output.WriteLine($"compliance pp-alpha_1.0_all.deb: {reported.State} {reported.Detail}");
        Assert.NotEqual(ComplianceStates.Applied, reported.State);
        Assert.False(outcomes.Single(o => o.Patch == "pp-alpha_1.0_all.deb").Applied);
    }

    /// <summary>
    /// Item 4: the LAN's policy holds one package (README: `peerpatch policy hold 'openssl_3.0.15*'`). The pass
    /// reports it held, stages the other, and the final `apt-get dist-upgrade` installs every pending upgrade: is the
    /// held package installed anyway (apt downloading it itself from the internet)?
    /// </summary>
    [Fact]
    public async Task PackageHeldByTheLanPolicy_IsNotInstalledByTheFinalDistUpgrade()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 20_000), ("pp-bravo", "2.1", 30_000)]);
        using var dir = new TempDir();
        var root = dir.Sub("root");
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed, dpkgRoot: root);
        await using var node = await InProcessNode.StartAsync(dir.Sub("node"), TimeProvider.System, AptNode(pc));
        using var http = new HttpClient();
        using (var hold = await http.PostAsync(new Uri(node.Http, "v1/policy/hold?patch=pp-alpha_*"), null))
        {
            output.WriteLine($"hold: {(int)hold.StatusCode} {await hold.Content.ReadAsStringAsync()}");
            Assert.True(hold.IsSuccessStatusCode);
        }

        var runner = node.Services.GetRequiredService<UpdateRunner>();
        PassStates? states = null;
        runner.PassEnded += s => states = s;
        var outcomes = new List<PatchOutcome>();
        var summary = (await runner.RunAsync(o => { outcomes.Add(o); return Task.CompletedTask; }, dryRun: false, CancellationToken.None))!;

        foreach (var o in outcomes)
        {
            output.WriteLine($"outcome {o.Patch}: applied {o.Applied}, heldBy {o.HeldBy}, error {o.Error}");
        }

        var alphaName = "pp-alpha_1.0_all.deb";
        var alphaFile = repo.Packages.Single(p => p.Package == "pp-alpha").Filename;
        var alpha = await VersionIn(root, "pp-alpha");
        output.WriteLine($"summary: applied {summary.Applied}, held {summary.Held}, failed {summary.Failed}; dpkg: pp-alpha {alpha}, pp-bravo {await VersionIn(root, "pp-bravo")}; upstream served pp-alpha {repo.Requests(alphaFile)} times");
        Assert.NotNull(outcomes.Single(o => o.Patch == alphaName).HeldBy); // the policy held it in the pass
        Assert.Equal(ComplianceStates.Held, states!.Patches.Single(p => p.Patch == alphaName).State);
        Assert.StartsWith("0.5 ", alpha, StringComparison.Ordinal); // ... and it must not be installed
        Assert.Equal(0, repo.Requests(alphaFile));
    }

    /// <summary>
    /// Brief item 3: the staging of one package fails (its name in apt's cache is a dangling symlink: cp refuses to
    /// write through it), the other is staged. The final dist-upgrade installs both, fetching the failed one itself
    /// from the internet (no claim, no LAN): the pass reports it failed although it is installed.
    /// </summary>
    [Fact]
    public async Task OneStagingFails_OtherStaged_TheReportMatchesWhatDpkgInstalled()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 20_000), ("pp-bravo", "2.1", 30_000)]);
        using var dir = new TempDir();
        var root = dir.Sub("root");
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed, dpkgRoot: root);
        File.CreateSymbolicLink(Path.Combine(pc.Archives, "pp-alpha_1.0_all.deb"), dir.Sub("gone/x.deb"));
        await using var node = await InProcessNode.StartAsync(dir.Sub("node"), TimeProvider.System, AptNode(pc));
        var runner = node.Services.GetRequiredService<UpdateRunner>();
        PassStates? states = null;
        runner.PassEnded += s => states = s;
        var outcomes = new List<PatchOutcome>();
        var summary = (await runner.RunAsync(o => { outcomes.Add(o); return Task.CompletedTask; }, dryRun: false, CancellationToken.None))!;

        var alphaFile = repo.Packages.Single(p => p.Package == "pp-alpha").Filename;
        output.WriteLine($"summary: applied {summary.Applied}, failed {summary.Failed}; pp-alpha served {repo.Requests(alphaFile)} times");
        foreach (var p in states!.Patches)
        {
            output.WriteLine($"compliance {p.Patch}: {p.State} {p.Detail}; dpkg: {await VersionIn(root, p.Patch!.Split('_')[0])}");
        }

        foreach (var p in states.Patches)
        {
            var installed = (await VersionIn(root, p.Patch!.Split('_')[0])).StartsWith(p.Patch.Split('_')[1] + " ", StringComparison.Ordinal);
            Assert.True(installed == (p.State == ComplianceStates.Applied), $"{p.Patch}: reported {p.State}, installed {installed}");
        }
    }

    /// <summary>
    /// Brief item 3, `peerpatch update --json`: the node streams each staged package as {"applied":true} before the
    /// install; when the install then fails, nothing on the stream corrects those lines (only the summary's counts).
    /// </summary>
    [Fact]
    public async Task InstallFails_TheStreamedPerPatchLinesDoNotSayApplied()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 20_000), ("pp-bravo", "2.1", 30_000)]);
        using var dir = new TempDir();
        var root = dir.Sub("root");
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed, dpkgRoot: root);
        await using var node = await InProcessNode.StartAsync(dir.Sub("node"), TimeProvider.System, AptNode(pc, (nameof(SourcesOptions.ApplyTimeout), "00:00:03")));
        var runner = node.Services.GetRequiredService<UpdateRunner>();
        PassStates? states = null;
        runner.PassEnded += s => states = s;
        var streamed = new List<PatchOutcome>();
        PassSummary summary;
        using (var holder = await AptRoot.HoldAptLockAsync(Path.Combine(root, "var", "lib", "dpkg", "lock-frontend"), 60))
        {
            summary = (await runner.RunAsync(o => { streamed.Add(o); return Task.CompletedTask; }, dryRun: false, CancellationToken.None))!;
            holder.Kill();
        }

        output.WriteLine($"summary: applied {summary.Applied}, failed {summary.Failed}; {string.Join(" | ", summary.SourceErrors)}");
        foreach (var o in streamed)
        {
            output.WriteLine($"streamed {o.Patch}: applied {o.Applied}, error {o.Error}");
        }

        Assert.Equal(0, summary.Applied);
        Assert.All(states!.Patches, p => Assert.Equal(ComplianceStates.Failed, p.State)); // compliance is right
        Assert.All(streamed, o => Assert.False(o.Applied, $"{o.Patch} streamed as applied; it was not installed"));
    }

    /// <summary>
    /// Brief item 2, the staging path: ConfigAsync("Dir::Cache::archives/d") takes apt-config's shell quoting verbatim
    /// (V='...'\''...'), so an archives directory with a single quote stages into a path that does not exist. The
    /// listing's override (-o Dir::Cache::archives=DIR/) has no such problem.
    /// </summary>
    [Fact]
    public async Task ArchivesDirWithAQuote_StagesIntoThatDir()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 20_000)]);
        using var dir = new TempDir();
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: Installed);
        var debs = Path.Combine(pc.Root, "cache", "it's");
        Directory.CreateDirectory(Path.Combine(debs, "partial"));
        await File.AppendAllTextAsync(pc.ConfigFile, "Dir::Cache::archives \"it's/\";\n");
        await pc.AptGetAsync("update", "-qq");

        var patches = await Source(new SourcesOptions { AptUpdateLists = false, AptConfigFile = pc.ConfigFile }, dir.Sub("data")).GetPatchesAsync("test-1-amd64", CancellationToken.None);

        Assert.Equal(Path.Combine(debs, "pp-alpha_1.0_all.deb"), Assert.Single(patches).Apply.Args[^1]);
    }
}

/// <summary>
/// The apt source under a non-English locale: a real node started with LANGUAGE=de (systemd gives a service the
/// system's LANG), so nothing in the test process's environment changes.
/// </summary>
[Trait("Category", "Network")]
public sealed class AptLocaleTests(ITestOutputHelper output)
{
    /// <summary>
    /// Item 4: another apt's lists lock is recognised by apt's "Could not get lock". Under a German locale apt says
    /// "Sperre ... konnte nicht erlangt werden", and the whole source failed; apt's queries now run with LC_ALL=C.UTF-8.
    /// </summary>
    [Fact]
    public async Task ListsLockHeld_UnderANonEnglishLocale_TheListsAreStillUsedAsTheyAre()
    {
        await using var repo = await DebRepository.CreateAsync([("pp-alpha", "1.0", 20_000)]);
        using var dir = new TempDir();
        var pc = new AptRoot(dir.Sub("apt"), repo.SourcesLine, proxy: null, status: AptProbeTests.Installed, dpkgRoot: dir.Sub("root"));
        await pc.AptGetAsync("update", "-qq");
        var german = new Dictionary<string, string> { ["LANG"] = "C.UTF-8", ["LANGUAGE"] = "de" }; // as LANG=de_DE.UTF-8 where that locale is generated
        await using var node = await NodeProcess.StartWithEnvironmentAsync(
            "pc", dir.Sub("node"), System.Text.Json.JsonSerializer.Serialize(new { AptConfigFile = pc.ConfigFile }), german, "--role", "server", "--source", "apt");
        using var holder = await AptRoot.HoldAptLockAsync(Path.Combine(pc.Root, "state", "lists", "lock"), 30);
        try
        {
            var result = await NodeProcess.RunCliAsync("update", "--node", node.Http.ToString(), "--json", "--dry-run");

            output.WriteLine($"{result.Summary}");
            Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + node.Output);
            Assert.Equal(1, result.Summary.GetProperty("ready").GetInt32());
            Assert.Contains("another apt holds the lists' lock (E: Could not get lock", node.Output, StringComparison.Ordinal);
        }
        finally
        {
            holder.Kill();
        }
    }
}

/// <summary>A test of this machine's own apt: skipped (with the reason) where there is no apt or no Packages list.</summary>
public sealed class AptListsFactAttribute : FactAttribute
{
    public AptListsFactAttribute()
    {
        if (!(File.Exists("/usr/bin/apt-get") && Directory.Exists("/var/lib/apt/lists")
            && Directory.EnumerateFiles("/var/lib/apt/lists", "*_Packages*").Any()))
        {
            Skip = "this machine has no apt Packages lists to read";
        }
    }
}
