using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Updating;

/// <summary>What <see cref="PatchPipeline"/> does next with one patch, as <see cref="ObtainPolicy"/> decides it.</summary>
internal abstract record ObtainStep
{
    private ObtainStep()
    {
    }

    /// <summary>This node is the server and holds the patch: nothing to move.</summary>
    internal sealed record UseOwnCopy : ObtainStep;

    /// <summary>
    /// A hit: fetch the server's copy (or the holder's it points to) over the LAN; with <see cref="Sources"/>, from
    /// the holders it ranks: in pieces from several at once when <see cref="PieceSize"/> is above 0, else whole from
    /// one after another.
    /// </summary>
    internal sealed record FetchFromLan(string BlobUrl, IReadOnlyList<PeerSource>? Sources = null, int PieceSize = 0) : ObtainStep;

    /// <summary>A miss with a claim: download from the internet, renew the claim meanwhile, push to the server.</summary>
    internal sealed record DownloadUnderClaim(LookupResult Claim) : ObtainStep;

    /// <summary>Another node holds the claim: take its bytes through the server as they arrive (cut-through).</summary>
    internal sealed record StreamFromHolder(string BlobUrl) : ObtainStep;

    /// <summary>Another node holds the claim: ask again after about <see cref="RetryAfter"/> (jittered by <see cref="ObtainPolicy.WaitJitter"/>).</summary>
    internal sealed record WaitAndAsk(TimeSpan RetryAfter) : ObtainStep;

    /// <summary>The LAN's policy holds the internet download now (outside the window, quota used), for <see cref="Reason"/>.</summary>
    internal sealed record Held(string Reason) : ObtainStep;

    /// <summary>The LAN cannot help in time: download straight from the internet, for <see cref="Reason"/>.</summary>
    internal sealed record Fallback(string Reason) : ObtainStep;
}
