namespace PeerPatch.Protocol.Security;

/// <summary>The outcome of <see cref="FrameSealer.TryOpenFor"/>.</summary>
public enum AddressedOpenResult
{
    /// <summary>Sealed with this key for this node: the payload and sequence number are set.</summary>
    Opened = 0,

    /// <summary>Not a frame sealed with this key (another key, no key, damaged or truncated).</summary>
    NotSealed,

    /// <summary>Sealed with this key for another node: a copy meant for another member (or recorded and replayed).</summary>
    ForAnotherNode,

    /// <summary>Sealed with this key in the older one-way format that names no recipient.</summary>
    Unaddressed,
}
