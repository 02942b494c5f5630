using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// Membership: the role, a configured server, discovery over mDNS and the election priority. Bound from the root of
/// the node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="ClusterOptionsValidator"/>.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>auto, server or client. Default auto: the nodes elect their server, unless <see cref="Server"/> names one.</summary>
    public RoleSetting Role { get; set; } = RoleSetting.Auto;

    /// <summary>The LAN server as HOST:UDPPORT; overrides discovery. Default none.</summary>
    public string? Server { get; set; }

    /// <summary>Advertise and discover nodes over mDNS (and elect the server when the role is auto). Default true.</summary>
    public bool Discovery { get; set; } = true;

    /// <summary>Interfaces mDNS runs on, by name; empty = every up, multicast-capable interface. Default empty.</summary>
    public List<string> MdnsInterfaces { get; set; } = [];

    /// <summary>
    /// The UDP port mDNS sends to and listens on. RFC 6762 fixes 5353, which every other implementation uses: change
    /// it only to keep LANs apart that share one interface (the tests run several LANs on loopback at once). Default 5353.
    /// </summary>
    public int MdnsPort { get; set; } = Protocol.Mdns.MdnsLimits.Port;

    /// <summary>Election priority (higher wins); default derived from free cache space in GiB.</summary>
    public int? Priority { get; set; }

    /// <summary>
    /// Also advertise this node's apt proxy (its HTTP port) as _apt_proxy._tcp, which squid-deb-proxy-client and
    /// auto-apt-proxy look for, so apt on those PCs uses PeerPatch with no configuration. Default true.
    /// </summary>
    public bool AptProxyAdvert { get; set; } = true;

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static ClusterOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new ClusterOptions();
        configuration.Bind(options);
        return options;
    }
}
