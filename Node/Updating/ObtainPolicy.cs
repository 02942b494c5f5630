using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Updating;

/// <summary>
/// The method as a pure rule: from the server's answer to a lookup (and the patch's <see cref="ClaimWait"/>) to the
/// next <see cref="ObtainStep"/>. Hit: take the LAN copy (or this server's own); miss: download under the claim;
/// held (the LAN's internet budget): nothing moves; in flight: stream the holder's bytes through the server while that keeps working, else wait and ask again until
/// the wait's deadline, then the internet. No I/O, no clock of its own: the pipeline's loop feeds it and carries out
/// what it says.
/// </summary>
internal static class ObtainPolicy
{
    /// <summary>Cut-through streams that may break off before a waiter stops using them for this patch.</summary>
    public const int MaxStreamFailures = 2;

    /// <summary>The waits between lookups are spread by this much (±), so waiters do not ask in step.</summary>
    public const double WaitJitter = 0.2;

    /// <summary>However soon the server says to ask again, not sooner than this.</summary>
    public static readonly TimeSpan MinRetryAfter = TimeSpan.FromMilliseconds(50);

    /// <param name="serverIsLocal">This node is the server.</param>
    /// <param name="haveOwnCopy">This node's store holds the patch.</param>
    public static ObtainStep Decide(LookupResult answer, bool serverIsLocal, bool haveOwnCopy, ClaimWait wait, DateTimeOffset now) => answer.Outcome switch
    {
        LookupOutcome.Hit when serverIsLocal && haveOwnCopy => new ObtainStep.UseOwnCopy(),
        // A compact hit left unexpanded (only RemoteServerChannel spells it out): nothing to fetch, never a crash.
        LookupOutcome.Hit when answer.BlobUrl is null => new ObtainStep.Fallback("the server's hit named no blob URL"),
        LookupOutcome.Hit => new ObtainStep.FetchFromLan(answer.BlobUrl, answer.Sources, answer.PieceSize),
        LookupOutcome.Miss => new ObtainStep.DownloadUnderClaim(answer),
        LookupOutcome.Held => new ObtainStep.Held(answer.HeldBy ?? "held by policy"),
        LookupOutcome.InFlight when answer.BlobUrl is { } stream && !serverIsLocal && wait.MayStreamAt(now) => new ObtainStep.StreamFromHolder(stream),
        _ => WaitOrGiveUp(answer, wait, now),
    };

    /// <summary>Another node is downloading and its bytes are not (or no longer) streamed: wait, or give up at the deadline.</summary>
    public static ObtainStep WaitOrGiveUp(LookupResult answer, ClaimWait wait, DateTimeOffset now) =>
        wait.Expired(now)
            ? new ObtainStep.Fallback($"waited {wait.Max} for another node's download")
            : new ObtainStep.WaitAndAsk(TimeSpan.FromMilliseconds(Math.Max(MinRetryAfter.TotalMilliseconds, answer.RetryAfterMs)));
}
