namespace PeerPatch.Node.Serving;

/// <summary>
/// One node's state of one patch, as the LAN server knows it from the node's latest compliance report
/// (<see cref="ComplianceBook.StatesOf"/>).
/// </summary>
/// <param name="State">One of <see cref="Protocol.Status.ComplianceStates"/>.</param>
/// <param name="Error">The error of a failed patch, the reason of a held one; else null.</param>
/// <param name="At">Since when the node has reported this state, by the server's clock (the first report that said so).</param>
/// <param name="Stale">The node has not been heard from for <see cref="ServingOptions.ComplianceStaleAfter"/>.</param>
internal sealed record NodePatchState(string NodeId, string Hostname, string? Ring, string State, string? Error, DateTimeOffset At, bool Stale);
