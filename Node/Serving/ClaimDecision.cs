namespace PeerPatch.Node.Serving;

/// <summary>
/// The claim table's answer to a miss: the asker holds the claim, or someone else does, or (<paramref name="Queued"/>)
/// nobody does yet because the LAN already downloads <see cref="ClaimPolicy.MaxLive"/> patches: ask again.
/// </summary>
internal readonly record struct ClaimDecision(bool Granted, ulong ClaimId, TimeSpan Lease, long HolderBytes, TimeSpan RetryAfter, bool Queued = false);
