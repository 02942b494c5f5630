using PeerPatch.Node.Sources;
using PeerPatch.Node.Transfer;
using PeerPatch.Storage;

namespace PeerPatch.Node.Updating;

/// <summary>
/// A patch from a source handed to the transfer layer, which knows blobs and their rows but not patch sources: the
/// row a transfer records (upstream URL redacted: rows are published) and the URL it downloads from.
/// </summary>
internal static class PatchTransfers
{
    /// <summary>Fetches <paramref name="patch"/>'s blob from a LAN node (see <see cref="LanFetcher"/>).</summary>
    public static Task<FetchResult> FetchAsync(this LanFetcher lan, Uri url, PatchSpec patch, ByteProgress? observer, CancellationToken ct, bool cutThrough = false) =>
        lan.FetchAsync(url, RecordOf(patch), observer, ct, cutThrough);

    /// <summary>Fetches <paramref name="patch"/>'s blob in pieces from several LAN sources (see <see cref="SwarmFetcher"/>).</summary>
    public static Task<FetchResult> FetchAsync(this SwarmFetcher swarm, IReadOnlyList<SwarmSource> sources, int pieceSize, PatchSpec patch, ByteProgress? observer, CancellationToken ct) =>
        swarm.FetchAsync(sources, pieceSize, RecordOf(patch), observer, ct);

    /// <summary>Downloads <paramref name="patch"/> from its upstream URL (see <see cref="InternetDownloader"/>).</summary>
    public static Task<FetchResult> DownloadAsync(this InternetDownloader internet, PatchSpec patch, ByteProgress progress, CancellationToken ct) =>
        internet.DownloadAsync(patch.Url, RecordOf(patch), progress, ct);

    /// <summary>The same, paced to <paramref name="rate"/> (this node's share of the LAN-wide internet cap).</summary>
    public static Task<FetchResult> DownloadAsync(this InternetDownloader internet, PatchSpec patch, ByteProgress progress, RateAllowance? rate, CancellationToken ct) =>
        internet.DownloadAsync(patch.Url, RecordOf(patch), progress, rate, ct);

    /// <summary>The row of a patch as the store records it; who added it and when are filled in by the transfer.</summary>
    public static PatchRecord RecordOf(PatchSpec patch) =>
        new(patch.OsVersion, patch.Name, patch.Sha256, patch.Size, Protocol.Text.SecretRedaction.RedactUrl(patch.Url.ToString()), default, string.Empty, 0, null);
}
