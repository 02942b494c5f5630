using System.Globalization;

namespace PeerPatch.Bench;

/// <summary>
/// The apt fleet's upstream: a real Debian archive laid out from real .deb files under ROOT/debian (apt-archive.sh:
/// pool/, and dists/bookworm with Packages, .gz, .xz, a signed InRelease, Release and Release.gpg). The pool holds
/// every file once; <see cref="PublishAsync"/> publishes an index naming some of them, so adding a package version
/// upstream (a new index, a new signed InRelease) takes a second, not a rebuild.
/// </summary>
internal sealed class AptArchive
{
    private readonly string _script;
    private readonly string _gnupg;

    private AptArchive(string script, string root, string gnupg, IReadOnlyList<Package> all) => (_script, Root, _gnupg, All) = (script, root, gnupg, all);

    /// <summary>The web root (the archive is its debian/ directory).</summary>
    public string Root { get; }

    /// <summary>The public key apt checks InRelease with (sources.list signed-by).</summary>
    public string Key => Path.Combine(_gnupg, "archive.gpg");

    /// <summary>Every package version in the pool.</summary>
    public IReadOnlyList<Package> All { get; }

    /// <summary>Runs a fetch script (real packages, fetched once with apt-get download and cached) and returns its .deb files.</summary>
    public static async Task<string[]> FetchAsync(string script)
    {
        var (code, output, error) = await Proc.RunAsync("bash", script);
        return code == 0
            ? Directory.GetFiles(output.Trim(), "*.deb")
            : throw new InvalidOperationException($"{script}: exit {code}: {error}");
    }

    /// <summary>Lays out the pool with these files (and makes the archive key); publishes nothing yet.</summary>
    public static async Task<AptArchive> CreateAsync(string repo, string work, IEnumerable<string> debs)
    {
        var (script, root, gnupg) = (Path.Combine(repo, "tools", "bench", "apt-archive.sh"), Path.Combine(work, "www"), Path.Combine(work, "gnupg"));
        await RunAsync([script, "pool", Path.Combine(root, "debian"), gnupg, .. debs]);
        return new AptArchive(script, root, gnupg, Parse(await File.ReadAllTextAsync(Path.Combine(root, "debian", "all.Packages"))));
    }

    /// <summary>Publishes an index of exactly these packages, with a new signed InRelease.</summary>
    public async Task PublishAsync(IEnumerable<Package> packages)
    {
        var index = Path.Combine(Root, "debian", "next.Packages");
        await File.WriteAllTextAsync(index, string.Join("\n\n", packages.Select(p => p.Stanza)) + "\n");
        await RunAsync([_script, "index", Path.Combine(Root, "debian"), _gnupg, index]);
    }

    /// <summary>The stanzas of a Packages index (the fields the bench needs, and the stanza as written).</summary>
    public static List<Package> Parse(string index)
    {
        var packages = new List<Package>();
        foreach (var stanza in index.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = stanza.Split('\n').Where(l => l.Length > 0 && l[0] != ' ' && l.Contains(':'))
                .ToDictionary(l => l[..l.IndexOf(':')], l => l[(l.IndexOf(':') + 1)..].Trim(), StringComparer.Ordinal);
            packages.Add(new Package(fields["Package"], fields["Version"], fields["Architecture"], fields["Filename"], fields["SHA256"], long.Parse(fields["Size"], CultureInfo.InvariantCulture), stanza));
        }

        return packages;
    }

    private static async Task RunAsync(string[] command)
    {
        var (code, _, error) = await Proc.RunAsync("bash", command);
        if (code != 0)
        {
            throw new InvalidOperationException($"apt-archive.sh {command[1]}: exit {code}: {error}");
        }
    }

    /// <summary>One package version of the archive.</summary>
    public sealed record Package(string Name, string Version, string Architecture, string Filename, string Sha256, long Size, string Stanza)
    {
        /// <summary>The name `apt-get download` gives the file: NAME_VERSION_ARCH.deb with the epoch's ':' as %3a.</summary>
        public string DownloadName => $"{Name}_{Version.Replace(":", "%3a", StringComparison.Ordinal)}_{Architecture}.deb";

        /// <summary>A line of a sha256sum -c file.</summary>
        public string ChecksumLine => $"{Sha256}  {DownloadName}";
    }
}
