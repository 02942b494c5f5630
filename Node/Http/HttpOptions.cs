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

    /// <summary>
    /// Most blob GETs (whole or Range) this node serves to other nodes at once, on every node, the LAN server too; one
    /// more is answered 503 with Retry-After and the client moves to another source. Default 4: four streams keep a
    /// 100 Mbit/s or 1 Gbit/s link busy while the disk and CPU stay light for the PC's user. At least 1.
    /// </summary>
    public int UploadSlots { get; set; } = 4;

    /// <summary>
    /// Most of the <see cref="UploadSlots"/> one client address may hold at once (0, or more than UploadSlots: all of
    /// them); one more GET from that address is answered 503 with Retry-After, while other PCs are still served.
    /// Default 2: a node asks a source for 2 pieces of a patch at once (<c>PiecesPerSource</c>), for up to 4 patches
    /// (<c>ObtainConcurrency</c>), so without a share the first PC to ask takes every slot of the server while the
    /// rest of the LAN waits, and a PC that reconnects as soon as it is cut can keep them. Not negative.
    /// </summary>
    public int UploadSlotsPerClient { get; set; } = 2;

    /// <summary>
    /// Cap on the bytes per second of all blob uploads of this node together (0: no cap). Default 0: uploads use the
    /// sending half of a full-duplex link, which the user's own downloads do not need; set e.g. 6000000 (about half of
    /// 100 Mbit/s) on a PC whose user uploads a lot himself. At least 65536 when set.
    /// </summary>
    public long UploadRateLimit { get; set; }

    /// <summary>
    /// How long one blob GET may wait for its client to take the next bytes before the connection is aborted and its
    /// upload slot freed. Default 30 s, twice the 15 s a client itself waits on a stalled LAN source
    /// (<c>LanStallTimeout</c>), so a client that is still reading is never cut first. Without it a client that stops
    /// reading (a PC asleep mid-download, a slowloris) keeps its slot for hours. 1 s to 1 h.
    /// </summary>
    public TimeSpan UploadStallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The one place these settings are read from configuration (the keys are the property names, at the root).</summary>
    internal static HttpOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new HttpOptions();
        configuration.Bind(options);
        return options;
    }
}
