namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// A simulated PC's apt: its own configuration root (APT_CONFIG, with Dir::State, Dir::Cache, Dir::Etc and the
/// parts directories all inside it, so neither /etc/apt nor /var/lib/dpkg is read or written), a sources.list for
/// the test repository, and optionally an HTTP proxy. Runs the real, unmodified apt-get.
/// </summary>
internal sealed class AptRoot
{
    public AptRoot(string root, string sourcesLine, Uri? proxy, string status = "")
    {
        Root = root;
        foreach (var d in new[] { "state/lists/partial", "cache/archives/partial", "etc/apt.conf.d", "etc/sources.list.d", "etc/preferences.d", "etc/trusted.gpg.d", "log" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        File.WriteAllText(Path.Combine(root, "state", "status"), status);
        File.WriteAllText(Path.Combine(root, "etc", "sources.list"), sourcesLine + "\n");
        var proxyLine = proxy is null ? "" : $"Acquire::http::Proxy \"{proxy}\";\n";
        File.WriteAllText(ConfigFile, $"""
            Dir::State "{root}/state/";
            Dir::State::status "{root}/state/status";
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
            """);
    }

    public string Root { get; }

    public string ConfigFile => Path.Combine(Root, "apt.conf");

    public string Archives => Path.Combine(Root, "cache", "archives");

    /// <summary>The environment apt's tools run with: this root's configuration.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["APT_CONFIG"] = ConfigFile, ["DEBIAN_FRONTEND"] = "noninteractive" };

    /// <summary>Runs apt-get with this root's configuration; fails the test on a non-zero exit.</summary>
    public Task<CliResult> AptGetAsync(params string[] args) => ExternalCommand.RunAsync(Root, "apt-get", args, allowFailure: false, Environment);
}
