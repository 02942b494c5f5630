namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// A simulated PC's apt: its own configuration root (APT_CONFIG, with Dir::State, Dir::Cache, Dir::Etc and the
/// parts directories all inside it, so neither /etc/apt nor /var/lib/dpkg is read or written), a sources.list for
/// the test repository, and optionally an HTTP proxy. Runs the real, unmodified apt-get.
/// </summary>
internal sealed class AptRoot
{
    /// <param name="dpkgRoot">
    /// When set, a throwaway root that apt-get's installs go to for real: dpkg's database is
    /// <c>DPKGROOT/var/lib/dpkg</c> (its status is <paramref name="status"/>), and apt runs dpkg with --root and
    /// --force-script-chrootless (maintainer scripts run with DPKG_ROOT), so nothing outside that root changes.
    /// </param>
    public AptRoot(string root, string sourcesLine, Uri? proxy, string status = "", string? dpkgRoot = null)
    {
        Root = root;
        DpkgRoot = dpkgRoot;
        foreach (var d in new[] { "state/lists/partial", "cache/archives/partial", "etc/apt.conf.d", "etc/sources.list.d", "etc/preferences.d", "etc/trusted.gpg.d", "log" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        var statusFile = Path.Combine(root, "state", "status");
        var dpkgLines = "";
        if (dpkgRoot is not null)
        {
            var admin = Path.Combine(dpkgRoot, "var", "lib", "dpkg");
            Directory.CreateDirectory(Path.Combine(admin, "info"));
            Directory.CreateDirectory(Path.Combine(admin, "updates"));
            statusFile = Path.Combine(admin, "status");
            dpkgLines = $"DPkg::Options {{ \"--root={dpkgRoot}\"; \"--force-script-chrootless\"; \"--log={dpkgRoot}/dpkg.log\"; }};\n";
        }

        File.WriteAllText(statusFile, status);
        File.WriteAllText(Path.Combine(root, "etc", "sources.list"), sourcesLine + "\n");
        var proxyLine = proxy is null ? "" : $"Acquire::http::Proxy \"{proxy}\";\n";
        File.WriteAllText(ConfigFile, $"""
            Dir::State "{root}/state/";
            Dir::State::status "{statusFile}";
            Dir::Cache "{root}/cache/";
            Dir::Etc "{root}/etc/";
            Dir::Etc::sourcelist "sources.list";
            Dir::Etc::sourceparts "sources.list.d";
            Dir::Etc::parts "apt.conf.d";
            Dir::Etc::preferencesparts "preferences.d";
            Dir::Etc::trustedparts "trusted.gpg.d";
            Dir::Log "{root}/log/";
            Debug::NoLocking "true";
            APT::Sandbox::User "root";
            APT::Architecture "amd64";
            Acquire::Languages "none";
            Acquire::Retries "0";
            {proxyLine}
            {dpkgLines}
            """);
    }

    public string Root { get; }

    /// <summary>The throwaway root apt-get installs into, or null (this PC's apt never installs).</summary>
    public string? DpkgRoot { get; }

    public string ConfigFile => Path.Combine(Root, "apt.conf");

    public string Archives => Path.Combine(Root, "cache", "archives");

    /// <summary>The environment apt's tools run with: this root's configuration.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["APT_CONFIG"] = ConfigFile, ["DEBIAN_FRONTEND"] = "noninteractive" };

    /// <summary>Runs apt-get with this root's configuration; fails the test on a non-zero exit.</summary>
    public Task<CliResult> AptGetAsync(params string[] args) => ExternalCommand.RunAsync(Root, "apt-get", args, allowFailure: false, Environment);
}
