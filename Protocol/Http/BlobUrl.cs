namespace PeerPatch.Protocol.Http;

/// <summary>
/// The one place that spells a blob's URL on a node's HTTP port (GET/HEAD to fetch it, PUT to push it): lookup
/// answers, inventory holders, pushes, the database listing and the endpoints themselves all build it here.
/// </summary>
public static class BlobUrl
{
    /// <summary>The path prefix every blob URL starts with.</summary>
    public const string Prefix = "/v1/blobs/";

    /// <summary>The ASP.NET route template of the blob endpoints.</summary>
    public const string Route = Prefix + "{sha256}";

    /// <summary>The server-relative path of a blob: /v1/blobs/{sha256} (what a lookup hit carries).</summary>
    public static string PathOf(string sha256) => Prefix + sha256;

    /// <summary>The ASP.NET route template of a blob's piece list.</summary>
    public const string PiecesRoute = Route + "/pieces";

    /// <summary>The server-relative path of a blob's piece list (<see cref="PieceList"/>): /v1/blobs/{sha256}/pieces.</summary>
    public static string PiecesOf(string sha256) => PathOf(sha256) + "/pieces";

    /// <summary>The absolute URL of a blob on the node whose HTTP base is <paramref name="httpBase"/> (http://host:port/).</summary>
    public static Uri On(Uri httpBase, string sha256) => new(httpBase, PathOf(sha256));

    /// <summary>
    /// The URL a blob is pushed to (PUT) with the patch it belongs to: os, name and its upstream URL (already redacted
    /// by the caller: it is published by the server), each escaped.
    /// </summary>
    public static Uri PushTo(Uri httpBase, string sha256, string os, string name, string? redactedUpstreamUrl) =>
        new(httpBase, $"{PathOf(sha256)}?os={Uri.EscapeDataString(os)}&name={Uri.EscapeDataString(name)}&url={Uri.EscapeDataString(redactedUpstreamUrl ?? string.Empty)}");
}
