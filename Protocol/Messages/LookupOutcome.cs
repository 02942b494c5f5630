namespace PeerPatch.Protocol.Messages;

/// <summary>What the server says about a looked-up patch.</summary>
public enum LookupOutcome : byte
{
    /// <summary>The server has the bytes: fetch them from <see cref="LookupResult.BlobUrl"/> (or its sources; a compact hit spelled out first).</summary>
    Hit = 0,

    /// <summary>Nobody on the LAN has it: the asker holds a download claim and must fetch from the internet and push.</summary>
    Miss = 1,

    /// <summary>Another node holds the claim and is downloading: wait and ask again.</summary>
    InFlight = 2,

    /// <summary>
    /// The LAN's policy holds the internet download now (outside the download window, daily quota used): no claim;
    /// <see cref="LookupResult.HeldBy"/> says why. Not a failure: the patch waits for a later pass.
    /// </summary>
    Held = 3,
}
