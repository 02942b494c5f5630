namespace PeerPatch.Node.Serving;

/// <summary>Timing of download claims.</summary>
/// <param name="Lease">A claim not renewed within this time expires and passes to the next asker.</param>
/// <param name="StallTimeout">A claim whose holder reports no progress for this long is revoked, renewals or not.</param>
/// <param name="RetryAfter">What waiters are told: ask again after this long.</param>
internal sealed record ClaimPolicy(TimeSpan Lease, TimeSpan StallTimeout, TimeSpan RetryAfter);
