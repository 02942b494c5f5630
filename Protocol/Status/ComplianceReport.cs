using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// One node's compliance report to the LAN server (POST /v1/compliance): after each pass, on each new server
/// session, and every <c>ComplianceReportInterval</c>, the state of every patch of its OS in its last pass. Untrusted on
/// arrival: the server checks every field against the limits below and <see cref="WireFormat"/> before it keeps it.
/// </summary>
/// <param name="At">When the pass ended, by the node's clock (shown, never used for staleness).</param>
/// <param name="Known">
/// The nodes the server knew when it last answered this node (<see cref="ComplianceReply.Known"/>), handed on to a
/// newly elected server so a node that stopped before the failover is still listed (as stale).
/// </param>
public sealed record ComplianceReport(
    [property: JsonPropertyName("nodeId")] string? NodeId,
    [property: JsonPropertyName("hostname")] string? Hostname,
    [property: JsonPropertyName("ring")] string? Ring,
    [property: JsonPropertyName("os")] string? Os,
    [property: JsonPropertyName("passId")] string? PassId,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("patches")] IReadOnlyList<CompliancePatch>? Patches,
    [property: JsonPropertyName("known")] IReadOnlyList<ComplianceKnownNode>? Known = null)
{
    /// <summary>Most patches one report may list (a larger report is refused).</summary>
    public const int MaxPatches = 4096;

    /// <summary>Most known nodes one report may hand on (more are ignored).</summary>
    public const int MaxKnown = 1024;

    /// <summary>Longest hostname kept (longer ones are cut).</summary>
    public const int MaxHostnameLength = 253;

    /// <summary>Longest error or held reason kept per patch (longer ones are cut).</summary>
    public const int MaxDetailLength = 500;

    /// <summary>Longest pass id.</summary>
    public const int MaxPassIdLength = 64;

    /// <summary>Largest report body, in bytes.</summary>
    public const long MaxBodyBytes = 4L << 20;
}

/// <summary>One patch's state in a <see cref="ComplianceReport"/>: one of <see cref="ComplianceStates"/>.</summary>
/// <param name="Detail">The error of a failed patch, the reason of a held one; else null.</param>
public sealed record CompliancePatch(
    [property: JsonPropertyName("patch")] string? Patch,
    [property: JsonPropertyName("state")] string? State,
    [property: JsonPropertyName("detail")] string? Detail = null);

/// <summary>A patch's state on a node, as compliance reports and views name it.</summary>
public static class ComplianceStates
{
    public const string Applied = "applied";
    public const string Pending = "pending";
    public const string Failed = "failed";

    /// <summary>Held by the LAN's policy: not applied, never a failure.</summary>
    public const string Held = "held";

    /// <summary>True for one of the four states.</summary>
    public static bool IsState(string? value) => value is Applied or Pending or Failed or Held;
}

/// <summary>A node a server knows, handed from node to a new server (see <see cref="ComplianceReport.Known"/>).</summary>
/// <param name="SeenAgoMs">How long before the answer the server last heard from it (relative: the clocks may differ).</param>
public sealed record ComplianceKnownNode(
    [property: JsonPropertyName("nodeId")] string? NodeId,
    [property: JsonPropertyName("hostname")] string? Hostname,
    [property: JsonPropertyName("ring")] string? Ring,
    [property: JsonPropertyName("os")] string? Os,
    [property: JsonPropertyName("seenAgoMs")] long SeenAgoMs);

/// <summary>The server's answer to a <see cref="ComplianceReport"/>: how many patch states it kept, and the nodes it knows.</summary>
public sealed record ComplianceReply(
    [property: JsonPropertyName("accepted")] int Accepted,
    [property: JsonPropertyName("known")] IReadOnlyList<ComplianceKnownNode> Known);
