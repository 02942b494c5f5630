namespace PeerPatch.Node.Updating;

/// <summary>The server to use right now, or null when none is known (then everything comes from the internet).</summary>
internal interface IServerChannelProvider
{
    IServerChannel? Current { get; }
}
