using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Serving;

/// <summary>
/// The LAN server's download claims. Bound from the root of the node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="ServingOptionsValidator"/>.
/// </summary>
public sealed class ServingOptions
{
    /// <summary>Lifetime of a download claim between renewals. Default 15 s.</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A claim whose holder reports no progress for this long passes to the next node. Default 60 s.</summary>
    public TimeSpan ClaimStallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How many patches the LAN downloads from the internet at once (download claims the server has out); a PC that
    /// misses another patch meanwhile is told to ask again, and goes on with its other patches. It caps the flows on an
    /// uplink the LAN shares with its users (the policy's rate cap caps the bytes). On the 20 MB/s uplink of the
    /// benchmark, 4 made the pass slower (26.5 and 30.7 s against 20.2 and 27.0 s); behind a 2 MB/s uplink the default
    /// downloads every patch once (the duplicates once seen there were claims that lapsed while their pushes ran, since
    /// fixed). Read by the server. Default 0 (no limit).
    /// </summary>
    public int InternetDownloadsAtOnce { get; set; }

    /// <summary>
    /// A node the server has not heard from (no compliance report) for this long is flagged stale in compliance views
    /// and never counted as compliant. Default 1 h: four missed reports at the default
    /// <c>ComplianceReportInterval</c> of 15 min (every node re-sends its last report that often, pass or no pass).
    /// Keep it well above the report interval.
    /// </summary>
    public TimeSpan ComplianceStaleAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// A node the server has not heard from for this long is forgotten: it leaves the compliance views, the counts and
    /// the ring-0 evidence, so a retired PC does not keep the LAN "not compliant" (and `peerpatch-diag compliance` at
    /// exit 2) for good. A PC that was only away reappears with its next report. Default 30 days; 0 = never; less than
    /// 3,653 days (10 years, the oldest sighting a server hand-over carries).
    /// </summary>
    public TimeSpan ComplianceForgetAfter { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Peer-to-peer serving: a lookup hit lists the nodes that hold the blob as sources (the server last), so every PC
    /// that holds a patch helps serve it. Off: the answer lists no sources and every client fetches from the server
    /// (the behaviour before peer serving; the benchmark's reference, PEERPATCH_PeerServing=false). Read by the
    /// server. Default true.
    /// </summary>
    public bool PeerServing { get; set; } = true;

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static ServingOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new ServingOptions();
        configuration.Bind(options);
        return options;
    }
}
