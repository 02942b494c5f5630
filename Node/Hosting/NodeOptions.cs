namespace PeerPatch.Node.Hosting;

/// <summary>
/// Every setting of a node. Bound from (later wins): /etc/peerpatch/peerpatch.json (Windows:
/// %ProgramData%\PeerPatch\peerpatch.json), the file named by --config, PEERPATCH_* environment variables
/// (PEERPATCH_HTTPPORT=8080, PEERPATCH_SOURCES__0=manifest:URL) and command-line options.
/// Durations in files and variables use TimeSpan syntax ("06:00:00"); the command line also takes "6h", "30m", "90s".
/// </summary>
public sealed class NodeOptions
{
    /// <summary>Data directory (database, blobs, logs). Default: /var/lib/peerpatch as root, else ~/.local/share/peerpatch; %ProgramData%\PeerPatch on Windows.</summary>
    public string DataDir { get; set; } = DefaultDataDir();

    /// <summary>LiteNetLib (UDP) port for LAN messages. Default 47470.</summary>
    public int Port { get; set; } = 47470;

    /// <summary>HTTP data-plane port. Default 47471.</summary>
    public int HttpPort { get; set; } = 47471;

    /// <summary>Address to bind both ports to. Default 0.0.0.0 (all IPv4 interfaces).</summary>
    public string Bind { get; set; } = "0.0.0.0";

    /// <summary>auto, server or client. Default auto: the nodes elect their server, unless <see cref="Server"/> names one.</summary>
    public RoleSetting Role { get; set; } = RoleSetting.Auto;

    /// <summary>The LAN server as HOST:UDPPORT; overrides discovery. Default none.</summary>
    public string? Server { get; set; }

    /// <summary>Advertise and discover nodes over mDNS (and elect the server when the role is auto). Default true.</summary>
    public bool Discovery { get; set; } = true;

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

    /// <summary>
    /// Also advertise this node's apt proxy (its HTTP port) as _apt_proxy._tcp, which squid-deb-proxy-client and
    /// auto-apt-proxy look for, so apt on those PCs uses PeerPatch with no configuration. Default true.
    /// </summary>
    public bool AptProxyAdvert { get; set; } = true;

    /// <summary>Interfaces mDNS runs on, by name; empty = every up, multicast-capable interface. Default empty.</summary>
    public List<string> MdnsInterfaces { get; set; } = [];

    /// <summary>
    /// The cluster key file (made by `peerpatch keygen`; the same file on every PC). With a key, only its holders
    /// join, get elected, push or are pushed to, and HTTP writes need it. Unset: /etc/peerpatch/cluster.key
    /// (%ProgramData%\PeerPatch\cluster.key) when that exists, else none (an open LAN, still never applying a byte
    /// that does not match the upstream list). "none": no key. Default unset.
    /// </summary>
    public string? ClusterKeyFile { get; set; }

    /// <summary>Most HTTP connections one address may hold open at once (0: no cap). Default 64.</summary>
    public int MaxConnectionsPerClient { get; set; } = 64;

    /// <summary>Election priority (higher wins); default derived from free cache space in GiB.</summary>
    public int? Priority { get; set; }

    /// <summary>Patch sources: "manifest:URL" (URL may contain {os}). Default none.</summary>
    public List<string> Sources { get; set; } = [];

    /// <summary>OS version key. Default: detected, e.g. debian-12-amd64.</summary>
    public string? OsVersion { get; set; }

    /// <summary>Time between automatic update passes; zero runs passes only on demand. Default 6 h.</summary>
    public TimeSpan UpdateInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Blob cache cap in bytes; 0 derives it from <see cref="CacheCapPercent"/>. Default 0.</summary>
    public long CacheCapBytes { get; set; }

    /// <summary>Blob cache cap as a share of the data directory's free disk at start (when <see cref="CacheCapBytes"/> is 0). Default 20.</summary>
    public int CacheCapPercent { get; set; } = 20;

    /// <summary>Largest patch accepted from anyone. Default 64 GiB.</summary>
    public long MaxPatchBytes { get; set; } = 64L << 30;

    /// <summary>How long a lookup may take before the node falls back to the internet. Default 2 s.</summary>
    public TimeSpan LookupTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Lifetime of a download claim between renewals. Default 15 s.</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A claim whose holder reports no progress for this long passes to the next node. Default 60 s.</summary>
    public TimeSpan ClaimStallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest a node waits for another node's download before going to the internet itself. Default 30 min.</summary>
    public TimeSpan ClaimWaitMax { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A LAN transfer that delivers no byte for this long is abandoned for the internet. Default 15 s.</summary>
    public TimeSpan LanStallTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The window of the body rule for every internet response (patches, feeds, apt indexes, redirect origins): while
    /// the node waits for body bytes, each window of this length must bring at least
    /// <see cref="InternetMinBytesPerSecond"/> times its length in bytes (at least one byte), or the transfer fails
    /// (a patch download is retried). Only time spent waiting for the upstream counts. Default 60 s.
    /// </summary>
    public TimeSpan InternetStallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Slowest internet body accepted, averaged over each <see cref="InternetStallTimeout"/> window: a trickle (one
    /// byte every few seconds) would otherwise keep a transfer alive forever. 0 keeps only the stall rule (one byte per
    /// window). Default 1024 bytes/s (60 KiB per minute; a 56k modem does seven times that).
    /// </summary>
    public long InternetMinBytesPerSecond { get; set; } = 1024;

    /// <summary>Longest wait for a TCP connection to an internet host (per connection attempt). Default 15 s.</summary>
    public TimeSpan InternetConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Longest wait from sending an internet request to its response headers, connecting and redirects included.
    /// Default 60 s.
    /// </summary>
    public TimeSpan InternetHeadersTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest an update pass may run: at this point the patch in progress fails, the rest are not tried, and the
    /// summary says the pass was stopped. Default 6 h (the default <see cref="UpdateInterval"/>, so a stuck pass ends
    /// before the next scheduled one is due).
    /// </summary>
    public TimeSpan PassDeadline { get; set; } = TimeSpan.FromHours(6);

    /// <summary>
    /// How long a new pass waits for a running one to finish before it gives up with "a pass is already running".
    /// Default 10 s.
    /// </summary>
    public TimeSpan PassLockWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per internet download (with exponential back-off). Default 3.</summary>
    public int InternetAttempts { get; set; } = 3;

    /// <summary>Default time limit of an apply command (a feed may set its own). Default 30 min.</summary>
    public TimeSpan ApplyTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The lowest level the node logs, by Serilog's names: Verbose, Debug, Information, Warning, Error, Fatal. The
    /// framework's own sources ("Microsoft", "System.Net.Http") log from Warning, or from this level when it is higher.
    /// Default Information.
    /// </summary>
    public Serilog.Events.LogEventLevel LogLevel { get; set; } = Serilog.Events.LogEventLevel.Information;

    /// <summary>
    /// The log file. Serilog puts the date before its extension ("peerpatch-.log" becomes "peerpatch-20260101.log"):
    /// one file a day (a new one past 64 MiB), the last 14 kept. "" logs to the console (the journal) only. Unset:
    /// &lt;DataDir&gt;/logs/peerpatch-.log. Default unset.
    /// </summary>
    public string? LogFile { get; set; }

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
}
