namespace PeerPatch.Node.Hosting;

/// <summary>The configured role.</summary>
public enum RoleSetting
{
    /// <summary>Server unless a server is configured (zero-config election replaces this rule later).</summary>
    Auto,

    /// <summary>Always the LAN server.</summary>
    Server,

    /// <summary>Always a client of the configured server.</summary>
    Client,
}
