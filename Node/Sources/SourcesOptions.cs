using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Sources;

/// <summary>
/// Where patches come from (feeds, apt) and the bounds on reading and applying them. Bound from the root of the
/// node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="SourcesOptionsValidator"/>.
/// </summary>
public sealed class SourcesOptions
{
    /// <summary>Patch sources: "manifest:URL" (URL may contain {os}). Default none.</summary>
    public List<string> Sources { get; set; } = [];

    /// <summary>For the apt source: the APT_CONFIG file apt-get runs with (another configuration root); null = the system's. Default null.</summary>
    public string? AptConfigFile { get; set; }

    /// <summary>For the apt source: run `apt-get update` at the start of each pass. Default true.</summary>
    public bool AptUpdateLists { get; set; } = true;

    /// <summary>
    /// For the apt source: how long one apt child process (apt-get update, --print-uris, indextargets, apt-helper
    /// cat-file, apt-config) may run before it is killed and the pass reports it. The final install uses
    /// <see cref="ApplyTimeout"/>. Default 10 min.
    /// </summary>
    public TimeSpan AptCommandTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// For the apt source: the most bytes read from one decompressed Packages list (Debian 12's main list is about
    /// 50 MB); a longer one is read up to here and reported. Default 1 GiB.
    /// </summary>
    public long AptListMaxBytes { get; set; } = 1L << 30;

    /// <summary>Default time limit of an apply command (a feed may set its own). Default 30 min.</summary>
    public TimeSpan ApplyTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static SourcesOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new SourcesOptions();
        configuration.Bind(options);
        return options;
    }
}
