namespace PeerPatch.Node.Transfer;

/// <summary>A transfer into the local store: ok, or why not; and how many bytes crossed the wire.</summary>
internal sealed record FetchResult(bool Ok, long Bytes, string? Error)
{
    /// <summary>The source answered 404: it does not have the bytes (yet).</summary>
    public bool NotThere { get; init; }

    /// <summary>The source answered 503 (its upload slots taken) and the caller asked not to wait for it.</summary>
    public bool Busy { get; init; }

    /// <summary>With <see cref="Busy"/>: the source's Retry-After (bounded, see <see cref="LanFetcher.RetryAfter"/>).</summary>
    public TimeSpan RetryAfter { get; init; }

    public static FetchResult Success(long bytes) => new(true, bytes, null);

    public static FetchResult Failure(long bytes, string error) => new(false, bytes, error);
}
