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
    /// --force-script-chrootless (maintainer scripts run with DPKG_ROOT), so nothing outside that root changes. apt
    /// then takes its locks as on a real PC (in this root and the apt root); without it, Debug::NoLocking.
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
            {(dpkgRoot is null ? "Debug::NoLocking \"true\";" : "")}
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

    /// <summary>
    /// Holds <paramref name="path"/> with an fcntl lock (as apt and dpkg take theirs: another process, here python3) for
    /// <paramref name="seconds"/>; returns once it is held (within 10 s).
    /// </summary>
    public static async Task<System.Diagnostics.Process> HoldAptLockAsync(string path, double seconds)
    {
        var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/python3")
        {
            ArgumentList = { "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'a+')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(float(sys.argv[2]))", path, seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            RedirectStandardOutput = true,
        })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var line = await holder.StandardOutput.ReadLineAsync(timeout.Token);
        if (line != "locked")
        {
            holder.Kill();
            throw new InvalidOperationException($"python3 did not take the lock on {path}");
        }

        return holder;
    }

    /// <summary>Runs apt-get with this root's configuration; fails the test on a non-zero exit.</summary>
    public Task<CliResult> AptGetAsync(params string[] args) => ExternalCommand.RunAsync(Root, "apt-get", args, allowFailure: false, Environment);
}
