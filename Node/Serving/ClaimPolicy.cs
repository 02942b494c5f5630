namespace PeerPatch.Node.Serving;

/// <summary>Timing of download claims.</summary>
/// <param name="Lease">A claim not renewed within this time expires and passes to the next asker.</param>
/// <param name="StallTimeout">A claim whose holder reports no progress for this long is revoked, renewals or not.</param>
/// <param name="RetryAfter">What waiters are told: ask again after this long.</param>
/// <param name="SettleTime">
/// For this long after an election made this node the server, a lookup it cannot answer gets "ask again" instead
/// of a claim: the other nodes' inventory reports (sent as they start following it) arrive first, so a patch that
/// some node holds stays a LAN hit instead of a new internet download, and the holders of the previous server's
/// claims renew here (at once when they see the change; a connect and a greeting to a busy new server may take
/// seconds), so their claims are adopted before anyone else could be granted the same patch.
/// </param>
/// <param name="MaxLive">
/// At most this many claims live at once (0: no limit): the LAN's internet downloads at once. A miss past it is told
/// "ask again" and nobody downloads it yet (see <see cref="ServingOptions.InternetDownloadsAtOnce"/>).
/// </param>
internal sealed record ClaimPolicy(TimeSpan Lease, TimeSpan StallTimeout, TimeSpan RetryAfter, TimeSpan SettleTime = default, int MaxLive = 0);
