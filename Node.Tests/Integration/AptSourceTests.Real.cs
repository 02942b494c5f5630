using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Integration;

public sealed partial class AptSourceTests
{
    /// <summary>
    /// Issue 18: REAL Debian packages (versions with +debNuM, +bN, ~ and an epoch; a main and a security archive, signed)
    /// as the pending upgrades of four PCs whose apt keeps its lists in four formats (lz4 as on a Docker-configured
    /// Debian, plain, gz, xz). The first PC's dry run obtains every package from the internet and the others every one
    /// from the LAN, each verified against the SHA-256 read from its own lists through apt: nothing skipped. A fifth PC
    /// then downloads them through a node's apt proxy: the source and the proxy share one patch (same name) and one
    /// blob per package, and each .deb crosses the internet once.
    /// </summary>
    [Fact]
    public async Task RealPackages_ListsKeptLz4PlainGzXz_FirstPcFromTheInternet_OthersFromTheLan_NothingSkipped()
    {
        var debDir = (await ExternalCommand.RunAsync("/", "bash", Path.Combine(RepoRoot, "tools", "test-lan", "fetch-real-debs.sh"))).Stdout.Trim();
        await using var repo = await DebRepository.CreateRealAsync(debDir);
        using var dir = new TempDir();
        var status = UpgradableStatus(repo);
        var upgrades = repo.Packages.GroupBy(p => p.Package).Select(g => g.OrderByDescending(p => p.Version.EndsWith("+sec1", StringComparison.Ordinal)).First()).ToList();
        Assert.Contains(upgrades, u => u.Filename.Contains(':', StringComparison.Ordinal)); // apt sends %3a for it
        Assert.Contains(upgrades, u => u.Filename.Contains('~', StringComparison.Ordinal));
        Assert.Contains(upgrades, u => u.Filename.Contains('+', StringComparison.Ordinal));

        var formats = new[] { "lz4", "plain", "gz", "xz" };
        var nodes = new List<NodeProcess>();
        try
        {
            foreach (var (format, i) in formats.Select((f, i) => (f, i)))
            {
                var pc = new AptRoot(dir.Sub($"apt-{format}"), repo.SignedSourcesLines, proxy: null, status: status);
                KeepListsAs(pc, format);
                nodes.Add(i == 0
                    ? await NodeProcess.StartWithConfigAsync($"pc-{format}", dir.Sub($"node-{format}"), RealConfig(pc, repo), "--role", "server", "--source", "apt")
                    : await NodeProcess.StartWithConfigAsync($"pc-{format}", dir.Sub($"node-{format}"), RealConfig(pc, repo), "--server", nodes[0].ServerAddress, "--source", "apt"));
                var node = nodes[^1];
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var result = await NodeProcess.RunCliAsync("update", "--node", node.Http.ToString(), "--json", "--dry-run");
                output.WriteLine($"{format}: {result.Outcomes.Count} outcomes in {watch.Elapsed.TotalSeconds:0.0} s; {result.Summary}");
                Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + node.Output);

                // apt really kept its lists in this format (one Packages list per archive, nothing else).
                var lists = Directory.GetFiles(Path.Combine(pc.Root, "state", "lists"), "*_Packages*").Select(Path.GetFileName).ToList();
                Assert.Equal(2, lists.Count);
                Assert.All(lists, l => Assert.EndsWith(format == "plain" ? "_Packages" : "_Packages." + format, l, StringComparison.Ordinal));

                var from = i == 0 ? "internet" : "lan";
                Assert.Equal(upgrades.Select(u => Path.GetFileName(u.Filename)).Order(StringComparer.Ordinal), result.Outcomes.Select(o => o.GetProperty("patch").GetString()!).Order(StringComparer.Ordinal));
                foreach (var o in result.Outcomes)
                {
                    Assert.True(o.GetProperty("error").ValueKind == JsonValueKind.Null, o.ToString());
                    Assert.Equal(from, o.GetProperty("from").GetString());
                    Assert.Equal(upgrades.Single(u => Path.GetFileName(u.Filename) == o.GetProperty("patch").GetString()).Sha256, o.GetProperty("sha256").GetString());
                }

                Assert.Equal(upgrades.Count, result.Summary.GetProperty("ready").GetInt32());
                Assert.Equal(0, result.Summary.GetProperty("failed").GetInt32());
                Assert.Equal(upgrades.Sum(u => u.Size), result.Summary.GetProperty(i == 0 ? "internetBytes" : "lanBytes").GetInt64());
                Assert.DoesNotContain("not shared", node.Output, StringComparison.Ordinal);
                foreach (var u in upgrades)
                {
                    // Staged under apt's own local name (an epoch as %3a), with the bytes apt expects.
                    var staged = Directory.GetFiles(pc.Archives, $"{u.Package}_*.deb").Single();
                    Assert.Equal(u.Sha256, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(staged))));
                }
            }

            // The same packages through a node's apt proxy (unmodified apt-get): one patch and one blob per package,
            // whichever way found it, so the proxy serves them from the LAN.
            var viaProxy = new AptRoot(dir.Sub("apt-proxy"), repo.SignedSourcesLines, nodes[^1].Http, status: status);
            await viaProxy.AptGetAsync("update");
            await ExternalCommand.RunAsync(viaProxy.Archives, "apt-get", ["download", .. upgrades.Select(u => $"{u.Package}={u.Version}")], allowFailure: false, viaProxy.Environment);
            var patches = (await nodes[0].PatchesAsync()).EnumerateArray().ToList();
            foreach (var u in upgrades)
            {
                Assert.Equal(1, repo.Requests(u.Filename));
                Assert.Equal([Path.GetFileName(u.Filename)], patches.Where(p => p.GetProperty("sha256").GetString() == u.Sha256).Select(p => p.GetProperty("name").GetString()));
            }

            output.WriteLine($"{upgrades.Count} real upgrades, {upgrades.Sum(u => u.Size)} bytes: the origin served {upgrades.Sum(u => repo.BytesServed(u.Filename))} .deb bytes for {formats.Length} PCs and one through a proxy");
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A dpkg status for which every package of the archive is an upgrade: each installed at version 0~old, and every
    /// other package they depend on installed at 99:99 (so dependencies hold without installing the real system).
    /// </summary>
    private static string UpgradableStatus(DebRepository repo)
    {
        var stanzas = Directory.GetFiles(repo.Root, "Packages", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadAllText(f).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
            .Select(s => s.Split('\n').Where(l => l.Length > 0 && l[0] is not (' ' or '\t') && l.Contains(':', StringComparison.Ordinal))
                .Select(l => l.Split(':', 2)).GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1].Trim()))
            .ToList();
        var names = stanzas.Select(s => s["Package"]).ToHashSet(StringComparer.Ordinal);
        var depends = stanzas.SelectMany(s => new[] { "Depends", "Pre-Depends" }.Select(f => s.GetValueOrDefault(f, "")))
            .SelectMany(d => d.Split([',', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(d => d.Split([' ', '(', ':'], 2)[0]).Where(n => n.Length > 0 && !names.Contains(n)).ToHashSet(StringComparer.Ordinal);
        var status = new StringBuilder();
        foreach (var s in stanzas.DistinctBy(s => s["Package"]))
        {
            status.Append($"Package: {s["Package"]}\nStatus: install ok installed\nMaintainer: t <t@example.invalid>\nArchitecture: {s["Architecture"]}\nVersion: 0~old\nDescription: old\n\n");
        }

        foreach (var d in depends.Order(StringComparer.Ordinal))
        {
            status.Append($"Package: {d}\nStatus: install ok installed\nMaintainer: t <t@example.invalid>\nArchitecture: amd64\nMulti-Arch: same\nVersion: 99:99\nDescription: a dependency\n\n");
        }

        return status.ToString();
    }

    private static string RealConfig(AptRoot pc, DebRepository repo) =>
        JsonSerializer.Serialize(new { AptConfigFile = pc.ConfigFile, AptUpstreams = new[] { $"127.0.0.1:{repo.BaseUri.Port}" } });

    private static readonly string RepoRoot =
        typeof(AptSourceTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    /// <summary>Makes apt keep its Packages lists in <paramref name="format"/> (plain: as downloaded and unpacked).</summary>
    private static void KeepListsAs(AptRoot pc, string format) => File.WriteAllText(
        Path.Combine(pc.Root, "etc", "apt.conf.d", "50lists"),
        format == "plain" ? "Acquire::GzipIndexes \"false\";\n" : $"Acquire::GzipIndexes \"true\";\nAcquire::IndexTargets::deb::Packages::KeepCompressedAs \"{format}\";\n");
}
