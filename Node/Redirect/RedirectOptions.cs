using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Redirect;

/// <summary>
/// Redirect mode: the hosts file, the port redirected domains are answered on, and the DNS that resolves them. Bound
/// from the root of the node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="RedirectOptionsValidator"/>.
/// </summary>
public sealed class RedirectOptions
{
    /// <summary>The hosts file whose PeerPatch block names the redirected domains. Default /etc/hosts (Windows: drivers\etc\hosts).</summary>
    public string HostsFile { get; set; } = Redirect.HostsFile.DefaultPath;

    /// <summary>
    /// The port this node answers redirected domains on (plain HTTP), while the hosts file has a PeerPatch block;
    /// 0 = never. Default 80.
    /// </summary>
    public int RedirectPort { get; set; } = 80;

    /// <summary>
    /// The DNS server (HOST or HOST:PORT) that resolves redirected domains to their real addresses; null = the system's
    /// resolvers (from resolv.conf, not the hosts file). Default null.
    /// </summary>
    public string? RedirectDns { get; set; }

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static RedirectOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new RedirectOptions();
        configuration.Bind(options);
        return options;
    }
}
