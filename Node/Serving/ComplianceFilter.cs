namespace PeerPatch.Node.Serving;

/// <summary>Narrows a compliance view: one OS, one patch name, one node (by id or hostname). Null: all.</summary>
internal sealed record ComplianceFilter(string? Os = null, string? Patch = null, string? Node = null)
{
    public static ComplianceFilter All { get; } = new();
}
