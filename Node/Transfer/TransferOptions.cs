using Microsoft.Extensions.Configuration;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// Bounds on every transfer: LAN fetches and internet requests (connect, headers, body rate, attempts). Bound from
/// the root of the node's configuration (the keys of peerpatch.json,
/// PEERPATCH_* variables and the command line are the property names; see <see cref="Primitives.CoreOptions"/>); checked at start by <see cref="TransferOptionsValidator"/>.
/// </summary>
public sealed class TransferOptions
{
    /// <summary>
    /// A LAN transfer that delivers no byte for this long is abandoned for the internet. A push to the server (the claim
    /// holder's copy of a patch it downloaded) that the server takes no byte of, or does not answer, for this long is
    /// abandoned too: the patch is applied all the same, only the LAN copy is lost. Default 15 s.
    /// </summary>
    public TimeSpan LanStallTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Slowest LAN body accepted (pieces, piece lists and whole blobs a node holds; not a cut-through stream, which comes
    /// at its holder's internet pace and is bounded by <see cref="LanStallTimeout"/> alone): while the node waits for body bytes, each
    /// <see cref="LanStallTimeout"/> window must bring at least this many bytes (or the body's end), or that attempt
    /// fails like a stalled one (the piece goes to another source; a source that keeps failing is dropped), so a holder
    /// dripping a byte every few seconds cannot hold a piece forever. Default 65536 (64 KiB per 15 s: about 4 KiB/s,
    /// a thousandth of a 100 Mbit/s PC's share under four uploads).
    /// </summary>
    public long LanMinBytesPerWindow { get; set; } = 64 * 1024;

    /// <summary>
    /// Longest a LAN fetch (by pieces, or the whole file from one source) waits while the LAN sources answer "busy"
    /// (503, their upload slots full) and none delivers: the first copy of a patch spreads from a few holders, and
    /// giving up sooner would send the askers to the internet (several downloads of one patch). Without a busy source
    /// the bound is <see cref="LanStallTimeout"/>.
    /// Default 10 min.
    /// </summary>
    public TimeSpan LanBusyWaitMax { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A fetch by pieces that has no piece yet, while every source its lookup listed answers "busy" for this long,
    /// hands back so that the server is asked again for the holders of the moment: PCs that got the patch meanwhile,
    /// with free upload slots, are not in the first list. On a slowed test LAN (10 Mbit/s PCs) PCs otherwise waited on
    /// their first sources a median of 38 s (192 times in one pass of 20 PCs), their uploads busy 31 % of the run. The
    /// whole wait stays within <see cref="LanBusyWaitMax"/>, and a hand-back is no LAN failure. 0: never (wait for the
    /// listed ones). Default 5 s.
    /// </summary>
    public TimeSpan LanBusyAskAgain { get; set; } = TimeSpan.FromSeconds(5);

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

    /// <summary>Attempts per internet download (with exponential back-off). Default 3.</summary>
    public int InternetAttempts { get; set; } = 3;

    /// <summary>
    /// Pieces of one blob fetched at once from the LAN sources a lookup lists (HTTP Range, see
    /// <see cref="SwarmFetcher"/>). Default 4.
    /// </summary>
    public int PiecesInFlight { get; set; } = 4;

    /// <summary>Of those, at most this many from one source, so a blob spreads over the holders. Default 2.</summary>
    public int PiecesPerSource { get; set; } = 2;

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static TransferOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new TransferOptions();
        configuration.Bind(options);
        return options;
    }
}
