namespace PeerPatch.Node.Cluster;

/// <summary>The configured role.</summary>
public enum RoleSetting
{
    /// <summary>The nodes elect their server over mDNS; --server overrides the election.</summary>
    Auto,

    /// <summary>Always the LAN server.</summary>
    Server,

    /// <summary>Always a client of the configured server.</summary>
    Client,
}
