namespace PeerPatch.Node.Primitives;

/// <summary>Who this node is: a stable id (persisted), a per-start instance id, its OS key and version.</summary>
internal sealed record NodeIdentity(string NodeId, string InstanceId, string OsVersion, string SoftwareVersion)
{
    public static string BuildVersion { get; } =
        typeof(NodeIdentity).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
