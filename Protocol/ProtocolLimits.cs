namespace PeerPatch.Protocol;

/// <summary>Every size and format limit of the LAN protocol, in one place.</summary>
public static class ProtocolLimits
{
    /// <summary>First field of every envelope: "PP".</summary>
    public const ushort Magic = 0x5050;

    /// <summary>Protocol version spoken by this build. A peer with another version is answered with an error.</summary>
    public const byte Version = 1;

    /// <summary>Largest datagram payload accepted or sent (bytes). Checked before any decoding.</summary>
    public const int MaxMessageBytes = 4096;

    /// <summary>
    /// Deepest nesting of MessagePack objects decoded (the envelope, the message kind and the message are 3); the
    /// elements of a newer node's unknown keys are skipped without being decoded and do not count.
    /// </summary>
    public const int MaxObjectGraphDepth = 8;

    /// <summary>Longest patch name (UTF-16 chars). Patch names are data, never paths.</summary>
    public const int MaxPatchNameLength = 255;

    /// <summary>Longest OS version key, e.g. "debian-12-amd64".</summary>
    public const int MaxOsVersionLength = 64;

    /// <summary>Longest node id or instance id.</summary>
    public const int MaxNodeIdLength = 64;

    /// <summary>Longest URL carried in a message.</summary>
    public const int MaxUrlLength = 2048;

    /// <summary>Longest free-text detail or error message.</summary>
    public const int MaxDetailLength = 512;

    /// <summary>Most sources a lookup answer lists (the server also stops adding them before the datagram limit).</summary>
    public const int MaxSources = 8;

    /// <summary>Largest patch size a message may declare (1 TiB).</summary>
    public const long MaxPatchBytes = 1L << 40;
}
