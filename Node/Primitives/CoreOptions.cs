using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Primitives;

/// <summary>
/// The node-wide settings every layer may read: where its data lives, the addresses it binds, its OS key and the
/// largest patch it accepts. Bound from the root of the node's configuration (the keys are the property names);
/// checked at start by <see cref="CoreOptionsValidator"/>.
/// <para>
/// Every options class of the node (one per folder: ClusterOptions, TransferOptions, ...) is bound the same way, from (later wins): /etc/peerpatch/peerpatch.json (Windows:
/// %ProgramData%\PeerPatch\peerpatch.json), the file named by --config, PEERPATCH_* environment variables
/// (PEERPATCH_HTTPPORT=8080, PEERPATCH_SOURCES__0=manifest:URL) and command-line options.
/// Durations in files and variables use TimeSpan syntax ("06:00:00"); the command line also takes "6h", "30m", "90s".
/// </para>
/// </summary>
public sealed class CoreOptions
{
    /// <summary>Data directory (database, blobs, logs). Default: /var/lib/peerpatch as root, else ~/.local/share/peerpatch; %ProgramData%\PeerPatch on Windows.</summary>
    public string DataDir { get; set; } = DefaultDataDir();

    /// <summary>LiteNetLib (UDP) port for LAN messages. Default 47470.</summary>
    public int Port { get; set; } = 47470;

    /// <summary>HTTP data-plane port. Default 47471.</summary>
    public int HttpPort { get; set; } = 47471;

    /// <summary>Address to bind both ports to. Default 0.0.0.0 (all IPv4 interfaces).</summary>
    public string Bind { get; set; } = "0.0.0.0";

    /// <summary>OS version key. Default: detected, e.g. debian-12-amd64.</summary>
    public string? OsVersion { get; set; }

    /// <summary>
    /// The rollout ring this PC belongs to, as the LAN's policy names rings (e.g. "0" for the test PCs that take a
    /// patch first). Reported to the server with each pass. Default: none (the policy may still place the PC in a
    /// ring by its id or hostname).
    /// </summary>
    public string? Ring { get; set; }

    /// <summary>Largest patch accepted from anyone. Default 64 GiB.</summary>
    public long MaxPatchBytes { get; set; } = 64L << 30;

    /// <summary>Blob cache cap in bytes; 0 derives it from <see cref="CacheCapPercent"/>. Default 0.</summary>
    public long CacheCapBytes { get; set; }

    /// <summary>
    /// Blob cache cap (when <see cref="CacheCapBytes"/> is 0) as a share of the room the cache has: the data disk's free
    /// space plus the blobs it holds, measured again whenever a blob is stored (so a node started on a full disk is
    /// capped once the disk has room; never below 1 byte, which keeps only the newest blob). Default 20.
    /// </summary>
    public int CacheCapPercent { get; set; } = 20;

    internal static string DefaultDataDir()
    {
        if (OperatingSystem.IsWindows())
        {
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "PeerPatch");
        }

        if (Environment.UserName == "root")
        {
            return "/var/lib/peerpatch";
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".local", "share") : xdg, "peerpatch");
    }

    internal static string DefaultConfigFile() => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "PeerPatch", "peerpatch.json")
        : "/etc/peerpatch/peerpatch.json";

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static CoreOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new CoreOptions();
        configuration.Bind(options);
        return options;
    }
}
