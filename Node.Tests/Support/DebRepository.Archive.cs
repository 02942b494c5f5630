using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// A real-world archive: REAL Debian .deb files (tools/test-lan/fetch-real-debs.sh) laid out as Debian lays them out
/// (pool/main/P/NAME/NAME_VERSION-WITHOUT-EPOCH_ARCH.deb), in two archives on one origin: "debian" (suite bookworm)
/// and "debian-security" (suite bookworm-security, the same package names in other versions: real .debs repacked
/// with a "+sec1" version, one of them stored under a file name that really contains its epoch, so apt sends %3a).
/// Each suite has Packages, Packages.gz and Packages.xz, a Release with Acquire-By-Hash: yes and the by-hash copies,
/// signed (InRelease and Release + Release.gpg) with a throwaway gpg key that apt verifies (signed-by, no trusted=yes).
/// </summary>
internal sealed partial class DebRepository
{
    public const string MainArchive = "debian";
    public const string SecurityArchive = "debian-security";

    private string? _keyring;
    private string? _gnupgHome;
    private readonly List<string> _archives = [];

    /// <summary>The sources.list lines apt uses for every archive of this origin (signed-by the throwaway key).</summary>
    public string SignedSourcesLines => string.Join('\n', _archives.Select(a => $"deb [signed-by={_keyring}] {BaseUri}{a} {SuiteOf(a)} main"));

    /// <summary>Bytes of 200 responses for every .deb path (however many times each was served).</summary>
    public long DebBytesServed => _bytes.Where(kv => kv.Key.EndsWith(".deb", StringComparison.Ordinal)).Sum(kv => kv.Value);

    /// <summary>Every GET path the origin answered with 200, with how many times.</summary>
    public IReadOnlyDictionary<string, int> RequestCounts => _requests;

    /// <summary>Builds the two signed archives from the real .debs in <paramref name="debDir"/> and starts serving them.</summary>
    /// <param name="securityCount">How many of the packages (those with an epoch first, then in name order) also get a newer version in the security archive.</param>
    public static async Task<DebRepository> CreateRealAsync(string debDir, int securityCount = 6)
    {
        var repo = new DebRepository();
        await repo.MakeKeyAsync();
        var debs = Directory.GetFiles(debDir, "*.deb").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(debs);
        repo._archives.Add(MainArchive);
        foreach (var deb in debs)
        {
            var (package, version, arch) = await ControlAsync(deb);
            var target = Path.Combine(repo.Root, MainArchive, PoolPath("main", package, WithoutEpoch(version), arch));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(deb, target);
            repo.Packages.Add(await repo.EntryAsync(package, version, MainArchive, target));
        }

        repo._archives.Add(SecurityArchive);
        var epochDone = false;
        foreach (var (package, version, _, _, _) in repo.Packages.OrderBy(p => p.Version.Contains(':', StringComparison.Ordinal) ? 0 : 1).Take(securityCount).ToList())
        {
            var source = Path.Combine(repo.Root, repo.Packages.First(p => p.Package == package).Filename);
            var newer = version + "+sec1";
            var (_, _, arch) = await ControlAsync(source);
            // One file keeps its epoch in its pool name (as some archives do): apt asks for it with %3a.
            var keepEpoch = !epochDone && newer.Contains(':', StringComparison.Ordinal);
            epochDone |= keepEpoch;
            var target = Path.Combine(repo.Root, SecurityArchive, PoolPath("updates/main", package, keepEpoch ? newer : WithoutEpoch(newer), arch));
            await RepackAsync(source, newer, target, repo.Root);
            repo.Packages.Add(await repo.EntryAsync(package, newer, SecurityArchive, target));
        }

        Assert.True(epochDone, "no package with an epoch among the real debs: the %3a case would go untested");
        foreach (var archive in repo._archives)
        {
            await repo.PublishAsync(archive);
        }

        await repo.StartAsync(IPAddress.Loopback, 0);
        return repo;
    }

    /// <summary>
    /// Adds a real .deb to an archive under a new version and republishes its indexes (a changed upstream: apt must
    /// see the new package on its next update).
    /// </summary>
    public async Task<(string Package, string Version)> AddRepackedAsync(string archive, string package, string versionSuffix)
    {
        var source = Path.Combine(Root, Packages.First(p => p.Package == package).Filename);
        var (_, version, arch) = await ControlAsync(source);
        var newer = version + versionSuffix;
        var target = Path.Combine(Root, archive, PoolPath(archive == MainArchive ? "main" : "updates/main", package, WithoutEpoch(newer), arch));
        await RepackAsync(source, newer, target, Root);
        Packages.Add(await EntryAsync(package, newer, archive, target));
        await Task.Delay(1100); // a later Date: in Release, and a later Last-Modified on the indexes
        await PublishAsync(archive);
        return (package, newer);
    }

    private static string SuiteOf(string archive) => archive == SecurityArchive ? "bookworm-security" : "bookworm";

    private static string PoolPath(string component, string package, string version, string arch)
    {
        var prefix = package.StartsWith("lib", StringComparison.Ordinal) && package.Length > 3 ? package[..4] : package[..1];
        return $"pool/{component}/{prefix}/{package}/{package}_{version}_{arch}.deb";
    }

    private static string WithoutEpoch(string version) => version.IndexOf(':', StringComparison.Ordinal) is var i and >= 0 ? version[(i + 1)..] : version;

    private static async Task<(string Package, string Version, string Arch)> ControlAsync(string deb)
    {
        var fields = (await ExternalCommand.RunAsync("/", "dpkg-deb", "-f", deb, "Package", "Version", "Architecture")).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(": ", 2)).ToDictionary(p => p[0], p => p[1].Trim());
        return (fields["Package"], fields["Version"], fields["Architecture"]);
    }

    private static async Task RepackAsync(string deb, string version, string target, string scratch)
    {
        var dir = Path.Combine(scratch, "repack-" + Guid.NewGuid().ToString("n")[..8]);
        await ExternalCommand.RunAsync("/", "dpkg-deb", "-R", deb, dir);
        var control = Path.Combine(dir, "DEBIAN", "control");
        var lines = (await File.ReadAllLinesAsync(control)).Select(l => l.StartsWith("Version:", StringComparison.Ordinal) ? "Version: " + version : l);
        await File.WriteAllLinesAsync(control, lines);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await ExternalCommand.RunAsync("/", "dpkg-deb", "--root-owner-group", "-Zxz", "--build", dir, target);
        Directory.Delete(dir, recursive: true);
    }

    private async Task<(string, string, string, long, string)> EntryAsync(string package, string version, string archive, string file)
    {
        var bytes = await File.ReadAllBytesAsync(file);
        return (package, version, Path.GetRelativePath(Root, file).Replace('\\', '/'), bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private async Task MakeKeyAsync()
    {
        _gnupgHome = Path.Combine(Root, "gnupg");
        Directory.CreateDirectory(_gnupgHome);
        File.SetUnixFileMode(_gnupgHome, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await GpgAsync("--quick-gen-key", "PeerPatch test archive <archive@example.invalid>", "ed25519", "sign", "never");
        _keyring = Path.Combine(Root, "archive-key.gpg");
        await GpgAsync("--output", _keyring, "--export", "archive@example.invalid");
    }

    private Task<CliResult> GpgAsync(params string[] args) =>
        ExternalCommand.RunAsync(Root, "gpg", ["--homedir", _gnupgHome!, "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--yes", .. args], allowFailure: false);

    /// <summary>Writes Packages (+ .gz, .xz), their by-hash copies, Release, InRelease and Release.gpg for one archive.</summary>
    private async Task PublishAsync(string archive)
    {
        var top = Path.Combine(Root, archive);
        var suite = SuiteOf(archive);
        var binary = Path.Combine(top, "dists", suite, "main", "binary-amd64");
        Directory.CreateDirectory(binary);
        var packages = (await ExternalCommand.RunAsync(top, "dpkg-scanpackages", "--multiversion", "pool")).Stdout;
        await File.WriteAllTextAsync(Path.Combine(binary, "Packages"), packages);
        await using (var gz = new GZipStream(File.Create(Path.Combine(binary, "Packages.gz")), CompressionLevel.Optimal))
        {
            await gz.WriteAsync(Encoding.UTF8.GetBytes(packages));
        }

        File.Delete(Path.Combine(binary, "Packages.xz"));
        await ExternalCommand.RunAsync(binary, "xz", "-k", "-6", "Packages");
        var byHash = Path.Combine(binary, "by-hash", "SHA256");
        Directory.CreateDirectory(byHash);
        var release = new StringBuilder($"Origin: PeerPatch tests\nLabel: {archive}\nSuite: {suite}\nCodename: {suite}\nDate: {DateTime.UtcNow:R}\nArchitectures: amd64 all\nComponents: main\nAcquire-By-Hash: yes\nSHA256:\n");
        foreach (var name in new[] { "Packages", "Packages.gz", "Packages.xz" })
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(binary, name));
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            await File.WriteAllBytesAsync(Path.Combine(byHash, sha), bytes);
            release.Append($" {sha} {bytes.Length} main/binary-amd64/{name}\n");
        }

        var dists = Path.Combine(top, "dists", suite);
        await File.WriteAllTextAsync(Path.Combine(dists, "Release"), release.ToString());
        await GpgAsync("--local-user", "archive@example.invalid", "--clearsign", "--output", Path.Combine(dists, "InRelease"), Path.Combine(dists, "Release"));
        await GpgAsync("--local-user", "archive@example.invalid", "--armor", "--detach-sign", "--output", Path.Combine(dists, "Release.gpg"), Path.Combine(dists, "Release"));
    }
}
