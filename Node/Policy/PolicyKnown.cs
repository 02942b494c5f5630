namespace PeerPatch.Node.Policy;

/// <summary>
/// What the server knows when it checks a new policy: the nodes that reported to it (hostnames, ring settings, ids)
/// and the patch names it has seen. A ring entry or the urgent pattern that matches none of them is an error (a typo
/// would otherwise hold every patch back, or let nothing through, silently).
/// </summary>
internal sealed record PolicyKnown(IReadOnlyCollection<string> NodeIds, IReadOnlyCollection<string> Hostnames, IReadOnlyCollection<string> RingSettings, IReadOnlyCollection<string> PatchNames);
