using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.ServerLink;

/// <summary>
/// The conversation with the LAN server. Bound from the root of the node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="ServerLinkOptionsValidator"/>.
/// </summary>
public sealed class ServerLinkOptions
{
    /// <summary>How long a lookup may take before the node falls back to the internet. Default 2 s.</summary>
    public TimeSpan LookupTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often a node fetches the LAN's policy (and ring 0's record) from its server, besides whenever a session
    /// opens or the policy changes at the server this node is. Default 2 min.
    /// </summary>
    public TimeSpan PolicyRefresh { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static ServerLinkOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new ServerLinkOptions();
        configuration.Bind(options);
        return options;
    }
}
