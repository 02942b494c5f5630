using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>The answer to <see cref="Lookup"/>.</summary>
/// <param name="Outcome">Hit, Miss (claim granted) or InFlight.</param>
/// <param name="Sha256">Hit: the stored blob's hash.</param>
/// <param name="Size">Hit: the blob's size. InFlight: bytes the claim holder has reported so far.</param>
/// <param name="BlobUrl">
/// Hit: absolute URL or "/v1/blobs/{sha256}" relative to the server's HTTP port; null in a compact hit for the latter
/// (<paramref name="ServerListed"/>). InFlight (optional): where the
/// bytes can be streamed as the server receives them (cut-through; a GET there waits for the holder's push to start).
/// </param>
/// <param name="ClaimId">Miss: the claim granted to the asker.</param>
/// <param name="LeaseMs">Miss: how long the claim lives without renewal.</param>
/// <param name="RetryAfterMs">InFlight: when to ask again.</param>
/// <param name="Sources">
/// Hit (and InFlight, for nodes serving the pieces they verified so far): where the blob can be fetched on the LAN,
/// best first: holders with spare upload slots first, the server last when others can serve; at most
/// <see cref="ProtocolLimits.MaxSources"/>, and only as many as keep the answer within the datagram limit. Null from
/// a server without peer serving (an older build, or peer serving switched off): fetch <paramref name="BlobUrl"/>; null
/// too in a compact hit whose only source is the server (<paramref name="ServerListed"/>).
/// </param>
/// <param name="PieceSize">
/// Hit: the piece size of the blob's piece list (GET <see cref="Http.BlobUrl.PiecesOf"/> on any source), or 0 when
/// the server offers none (fetch the whole file from one source).
/// </param>
/// <param name="RateLimit">
/// Miss: the claim holder's share of the LAN-wide internet rate cap, bytes/s (the cap divided by the live claims;
/// renewals carry the current share in <see cref="Ack.RateLimit"/>); 0: no cap.
/// </param>
/// <param name="HeldBy">Held: why the policy holds the download ("outside download window 19:00-07:00").</param>
/// <param name="ServerListed">
/// A compact hit, sent only to an asker that set <see cref="Lookup.CompactHit"/>: the server itself is a source too,
/// after those listed, at its own path for the hash (<see cref="Expand"/>). A compact hit's null
/// <paramref name="BlobUrl"/> also means that path. The full form spells both out: the server's absolute URL (about
/// 100 bytes) and its path (75 bytes); a hit whose only source is the server takes 92 bytes compact against 300 in
/// full, so about three times as many answers share a datagram. The server lists itself exactly when the full
/// form would (the asker is in one of its subnets); the asker spells it out at the address it reached the server at,
/// which on a multi-homed server may be another of its addresses than the full form names.
/// </param>
[MessagePackObject]
public sealed record LookupResult(
    [property: Key(0)] LookupOutcome Outcome,
    [property: Key(1)] string? Sha256,
    [property: Key(2)] long Size,
    [property: Key(3)] string? BlobUrl,
    [property: Key(4)] ulong ClaimId,
    [property: Key(5)] int LeaseMs,
    [property: Key(6)] int RetryAfterMs,
    [property: Key(7)] PeerSource[]? Sources = null,
    [property: Key(8)] int PieceSize = 0,
    [property: Key(9)] long RateLimit = 0,
    [property: Key(10)] string? HeldBy = null,
    [property: Key(11)] bool ServerListed = false) : IMessage
{
    /// <summary>A hit.</summary>
    public static LookupResult Hit(string sha256, long size, string blobUrl) => new(LookupOutcome.Hit, sha256, size, blobUrl, 0, 0, 0);

    /// <summary>A miss with a download claim.</summary>
    public static LookupResult Miss(ulong claimId, int leaseMs) => new(LookupOutcome.Miss, null, 0, null, claimId, leaseMs, 0);

    /// <summary>A miss with a download claim, throttled to <paramref name="rateLimit"/> bytes/s (0: none).</summary>
    public static LookupResult Miss(ulong claimId, int leaseMs, long rateLimit) => new(LookupOutcome.Miss, null, 0, null, claimId, leaseMs, 0, null, 0, rateLimit);

    /// <summary>The policy holds the internet download, for <paramref name="reason"/>.</summary>
    public static LookupResult Held(string reason) => new(LookupOutcome.Held, null, 0, null, 0, 0, 0, null, 0, 0, reason);

    /// <summary>Someone else is downloading.</summary>
    public static LookupResult InFlight(long bytesSoFar, int retryAfterMs) => new(LookupOutcome.InFlight, null, bytesSoFar, null, 0, 0, retryAfterMs);

    /// <summary>Someone else is downloading, and the bytes can be streamed from <paramref name="streamUrl"/> as they arrive.</summary>
    public static LookupResult InFlight(long bytesSoFar, int retryAfterMs, string streamUrl) => new(LookupOutcome.InFlight, null, bytesSoFar, streamUrl, 0, 0, retryAfterMs);

    /// <inheritdoc />
    public bool IsValid() => RateLimit >= 0 && (HeldBy is null || Outcome == LookupOutcome.Held) && (!ServerListed || Outcome == LookupOutcome.Hit) && Outcome switch
    {
        LookupOutcome.Held => !string.IsNullOrEmpty(HeldBy) && WireFormat.IsDetail(HeldBy) && Sources is null && PieceSize == 0 && ClaimId == 0,
        LookupOutcome.Hit => WireFormat.IsSha256(Sha256) && WireFormat.IsSize(Size) && (BlobUrl is null || WireFormat.IsBlobUrl(BlobUrl)) && SourcesAreValid()
            && (!ServerListed || Sources is null || Sources.Length < ProtocolLimits.MaxSources)
            && (PieceSize == 0 || PieceSize is >= Http.PieceList.MinPieceSize and <= Http.PieceList.MaxPieceSize),
        LookupOutcome.Miss => ClaimId != 0 && LeaseMs is > 0 and <= 3_600_000 && Sources is null && PieceSize == 0,
        LookupOutcome.InFlight => WireFormat.IsSize(Size) && RetryAfterMs is >= 0 and <= 60_000 && (BlobUrl is null || WireFormat.IsBlobUrl(BlobUrl))
            && SourcesAreValid() && PieceSize == 0,
        _ => false,
    };

    /// <summary>
    /// A compact hit in full, as the server would have spelled it out: a null <see cref="BlobUrl"/> becomes the server's
    /// path for the hash, and a listed server becomes the last source, <paramref name="serverNodeId"/> at that path on
    /// <paramref name="serverHttpBase"/> (the address this node reaches the server at). Anything else is returned as it is.
    /// </summary>
    public LookupResult Expand(string serverNodeId, Uri serverHttpBase)
    {
        if (Outcome != LookupOutcome.Hit || (BlobUrl is not null && !ServerListed))
        {
            return this;
        }

        var path = Http.BlobUrl.PathOf(Sha256!);
        if (!ServerListed)
        {
            return this with { BlobUrl = path };
        }

        var server = new PeerSource(serverNodeId, new Uri(serverHttpBase, path).AbsoluteUri);
        return this with { BlobUrl = BlobUrl ?? path, Sources = Sources is { } listed ? [.. listed, server] : [server], ServerListed = false };
    }

    private bool SourcesAreValid() =>
        Sources is null || (Sources.Length <= ProtocolLimits.MaxSources && Sources.All(s => s is not null && s.IsValid()));
}
