namespace PeerPatch.Node.Cluster;

/// <summary>
/// A count the server keeps that must outlive it, carried by its heartbeats: today's internet bytes against the LAN's
/// daily quota (Serving's InternetGate). The server's heartbeats send <see cref="Today"/>; a follower hands what its
/// server sent to <see cref="Heard"/>, so the follower elected next goes on from the LAN's count, not from the one
/// it kept when it was last server (or none).
/// </summary>
internal interface IHeartbeatTally
{
    /// <summary>The day (<see cref="DateOnly.DayNumber"/> of the local date; 0: nothing to send) and its count.</summary>
    (int Day, long Used) Today();

    /// <summary>What the server this node follows sent in a heartbeat that moved nothing of the election's.</summary>
    void Heard(int day, long used);
}
