using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// The LAN's policy as the server holds it (GET /v1/policy), and as a node offers its own copy to a newly elected
/// server (POST /v1/policy/offer). Untrusted on arrival: the envelope is re-parsed strictly and its seal checked.
/// </summary>
/// <param name="Envelope">The policy envelope's exact JSON text (version, setBy, setAt, policy): what the seal covers.</param>
/// <param name="Seal">The cluster key's seal over <paramref name="Envelope"/>; null on a LAN without a key.</param>
/// <param name="Ring0">Per patch, ring 0's record as the server computed it (not sealed; recomputed by every server).</param>
/// <param name="RingComputedAt">When the server computed <paramref name="Ring0"/>.</param>
public sealed record PolicyReply(
    [property: JsonPropertyName("envelope")] string? Envelope,
    [property: JsonPropertyName("seal")] string? Seal,
    [property: JsonPropertyName("ring0")] IReadOnlyList<RingZeroEntry>? Ring0,
    [property: JsonPropertyName("ringComputedAt")] DateTimeOffset RingComputedAt);

/// <summary>Ring 0's record of one patch: when a ring-0 node first applied it; which ring-0 node failed it, if one did.</summary>
public sealed record RingZeroEntry(
    [property: JsonPropertyName("os")] string? Os,
    [property: JsonPropertyName("patch")] string? Patch,
    [property: JsonPropertyName("firstApplied")] DateTimeOffset? FirstApplied,
    [property: JsonPropertyName("failedOn")] string? FailedOn);

/// <summary>Why a policy was refused (400 from PUT /v1/policy): every problem, one per line; the old policy stays.</summary>
public sealed record PolicyProblems([property: JsonPropertyName("errors")] IReadOnlyList<string> Errors);
