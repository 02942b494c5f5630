using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// The LAN's compliance as GET /v1/compliance reports it (and peerpatch-diag compliance and the dashboard show it):
/// per patch who has it, lacks it, failed it, is held, or is stale; per node what it lacks. A node not heard from
/// for <see cref="StaleAfterSeconds"/> is stale: it counts as stale for every patch of its OS, never as compliant.
/// A fresh node whose last report does not list a patch others list lacks it.
/// </summary>
public sealed record ComplianceView(
    [property: JsonPropertyName("generatedAt")] DateTimeOffset GeneratedAt,
    [property: JsonPropertyName("staleAfterSeconds")] double StaleAfterSeconds,
    [property: JsonPropertyName("patches")] IReadOnlyList<PatchCoverage> Patches,
    [property: JsonPropertyName("nodes")] IReadOnlyList<NodeCompliance> Nodes)
{
    /// <summary>0: all compliant; 1: something pending or held; 2: a failure or a stale node (like diag health).</summary>
    public int ExitCode() =>
        Patches.Any(p => p.Failed.Count > 0 || p.Stale.Count > 0) || Nodes.Any(n => n.Stale) ? 2
        : Patches.Any(p => p.Lack.Count > 0 || p.Held.Count > 0) ? 1
        : 0;
}

/// <summary>One patch of one OS across the LAN: node ids in each state.</summary>
public sealed record PatchCoverage(
    [property: JsonPropertyName("os")] string Os,
    [property: JsonPropertyName("patch")] string Patch,
    [property: JsonPropertyName("have")] IReadOnlyList<string> Have,
    [property: JsonPropertyName("lack")] IReadOnlyList<string> Lack,
    [property: JsonPropertyName("failed")] IReadOnlyList<NodeNote> Failed,
    [property: JsonPropertyName("held")] IReadOnlyList<NodeNote> Held,
    [property: JsonPropertyName("stale")] IReadOnlyList<string> Stale);

/// <summary>A node and a text: the error of a failed patch, or why it is held.</summary>
public sealed record NodeNote(
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("text")] string Text);

/// <summary>One node's compliance: its last report and what it lacks (pending, failed or held patches of its OS).</summary>
/// <param name="ReportedAt">When its last pass ended, by its own clock.</param>
/// <param name="LastSeen">When the server last heard from it, by the server's clock.</param>
public sealed record NodeCompliance(
    [property: JsonPropertyName("nodeId")] string NodeId,
    [property: JsonPropertyName("hostname")] string Hostname,
    [property: JsonPropertyName("ring")] string? Ring,
    [property: JsonPropertyName("os")] string Os,
    [property: JsonPropertyName("passId")] string? PassId,
    [property: JsonPropertyName("reportedAt")] DateTimeOffset? ReportedAt,
    [property: JsonPropertyName("lastSeen")] DateTimeOffset LastSeen,
    [property: JsonPropertyName("stale")] bool Stale,
    [property: JsonPropertyName("applied")] int Applied,
    [property: JsonPropertyName("lacks")] IReadOnlyList<string> Lacks,
    [property: JsonPropertyName("failed")] IReadOnlyList<NodeNote> Failed,
    [property: JsonPropertyName("held")] IReadOnlyList<NodeNote> Held);
