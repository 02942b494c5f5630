namespace PeerPatch.Protocol.Messages;

/// <summary>The role a node currently plays on its LAN.</summary>
public enum NodeRole : byte
{
    /// <summary>Asks the server; holds and serves its own copies.</summary>
    Client = 0,

    /// <summary>Holds the authoritative patch database.</summary>
    Server = 1,
}
