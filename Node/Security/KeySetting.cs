using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Security;

/// <summary>The cluster key as loaded at start: the key (null: open LAN), the file it came from, and a warning about that file.</summary>
internal sealed record KeySetting(ClusterKey? Key, string? Path, string? Warning);
