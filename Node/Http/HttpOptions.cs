using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Http;

/// <summary>
/// The HTTP endpoints' per-client limits. Bound from the root of the node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="HttpOptionsValidator"/>.
/// </summary>
public sealed class HttpOptions
{
    /// <summary>Most HTTP connections one address may hold open at once (0: no cap). Default 64.</summary>
    public int MaxConnectionsPerClient { get; set; } = 64;

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static HttpOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new HttpOptions();
        configuration.Bind(options);
        return options;
    }
}
