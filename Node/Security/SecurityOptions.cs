using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Security;

/// <summary>
/// The cluster key setting. Bound from the root of the node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="SecurityOptionsValidator"/>.
/// </summary>
public sealed class SecurityOptions
{
    /// <summary>
    /// The cluster key file (made by `peerpatch keygen`; the same file on every PC). With a key, only its holders
    /// join, get elected, push or are pushed to, and HTTP writes need it. Unset: /etc/peerpatch/cluster.key
    /// (%ProgramData%\PeerPatch\cluster.key) when that exists, else none (an open LAN, still never applying a byte
    /// that does not match the upstream list). "none": no key. Default unset.
    /// </summary>
    public string? ClusterKeyFile { get; set; }

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static SecurityOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new SecurityOptions();
        configuration.Bind(options);
        return options;
    }
}
