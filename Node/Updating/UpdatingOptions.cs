using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Updating;

/// <summary>
/// Update passes: how often, how long one may run, and how long a patch waits for another node's download. Bound from
/// the root of the node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="UpdatingOptionsValidator"/>.
/// </summary>
public sealed class UpdatingOptions
{
    /// <summary>Time between automatic update passes; zero runs passes only on demand. Default 6 h.</summary>
    public TimeSpan UpdateInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Longest a node waits for another node's download before going to the internet itself. Default 30 min.</summary>
    public TimeSpan ClaimWaitMax { get; set; } = TimeSpan.FromMinutes(30);

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

    /// <summary>
    /// How often this node re-sends its last compliance report to the LAN server even without a new pass (it also
    /// reports after every pass and whenever a new server session opens), so a newly elected server's view is whole
    /// again within this time and the server can tell a silent node (stale, see <c>ComplianceStaleAfter</c>) from a
    /// live one. Default 15 min.
    /// </summary>
    public TimeSpan ComplianceReportInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Patches of a pass obtained at the same time (looked up, fetched from the LAN or downloaded), each on its own;
    /// they are still verified and applied one at a time, in list order. A patch another node is downloading is set
    /// aside and asked for again once the others have started, so a pass never idles behind one claim. 1 obtains one
    /// patch at a time, in list order (before issue 16). Default 4.
    /// </summary>
    public int ObtainConcurrency { get; set; } = 4;

    /// <summary>
    /// How long a LAN server that stopped answering (busy, or an election under way) is given to answer again, or be
    /// replaced, before patches go to the internet: counted from the first unanswered request of an outage, so one
    /// outage delays a pass by at most this, and patches asked for after it go to the internet at once. The outage ends
    /// with the next answer. Zero falls back at once. Default 10 s.
    /// </summary>
    public TimeSpan LanPatience { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static UpdatingOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new UpdatingOptions();
        configuration.Bind(options);
        return options;
    }
}
