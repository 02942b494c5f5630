namespace PeerPatch.Node.Serving;

/// <summary>The claim table's answer to a miss: the asker holds the claim, or someone else does.</summary>
internal readonly record struct ClaimDecision(bool Granted, ulong ClaimId, TimeSpan Lease, long HolderBytes, TimeSpan RetryAfter);
