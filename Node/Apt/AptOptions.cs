using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Apt;

/// <summary>
/// The apt proxy: which origins it relays to. Bound from the root of the node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="AptOptionsValidator"/>.
/// </summary>
public sealed class AptOptions
{
    /// <summary>
    /// HTTPS ports of the hosts in <see cref="AptUpstreams"/> given without a port, which the apt proxy opens CONNECT
    /// tunnels to (HTTPS repositories pass through untouched; an https:// apt source is tunnelled to its own port).
    /// Default [443].
    /// </summary>
    public List<int> ConnectPorts { get; set; } = [443];

    /// <summary>
    /// Origins the apt proxy relays to besides those apt's sources name: "HOST" (HTTP on 80, HTTPS tunnels to
    /// <see cref="ConnectPorts"/>), "HOST:PORT" (both on PORT) or a URL "http://HOST:PORT/" (that one). The only way
    /// to let the proxy reach this machine's own addresses (a local mirror). Default none.
    /// </summary>
    public List<string> AptUpstreams { get; set; } = [];

    /// <summary>
    /// The apt configuration directory whose sources (sources.list, sources.list.d/*.list and *.sources) name the
    /// origins the apt proxy relays to; re-read when they change. Default /etc/apt.
    /// </summary>
    public string AptSourcesDir { get; set; } = "/etc/apt";

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static AptOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new AptOptions();
        configuration.Bind(options);
        return options;
    }
}
