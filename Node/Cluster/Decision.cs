namespace PeerPatch.Node.Cluster;

/// <summary>What the elector asks the node to do.</summary>
internal readonly record struct Decision(DecisionKind Kind, string? ServerId, long Term, bool StepDown)
{
    public static Decision None => default;

    public static Decision BecomeServer(long term) => new(DecisionKind.BecomeServer, null, term, false);

    public static Decision FollowServer(string serverId, long term, bool stepDown) => new(DecisionKind.Follow, serverId, term, stepDown);
}

/// <summary>Kinds of <see cref="Decision"/>.</summary>
internal enum DecisionKind
{
    None = 0,
    BecomeServer,
    Follow,
}
