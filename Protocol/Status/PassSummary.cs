using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// The totals of one update pass; `update --json` prints it as {"summary":{...}}. <see cref="Failed"/> counts failed
/// patches, each entry of <see cref="SourceErrors"/> (a source that could not be read, or whose last step failed) and a
/// pass <see cref="Stopped"/> early; <see cref="Held"/> counts patches the LAN's policy holds (not failures); <see cref="Stopped"/> says why (its deadline passed), null when it ran to its end.
/// </summary>
public sealed record PassSummary(
    [property: JsonPropertyName("passId")] string PassId,
    [property: JsonPropertyName("applied")] int Applied,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("alreadyApplied")] int AlreadyApplied,
    [property: JsonPropertyName("lanBytes")] long LanBytes,
    [property: JsonPropertyName("internetBytes")] long InternetBytes,
    [property: JsonPropertyName("sourceErrors")] IReadOnlyList<string> SourceErrors,
    [property: JsonPropertyName("dryRun")] bool DryRun = false,
    [property: JsonPropertyName("ready")] int Ready = 0,
    [property: JsonPropertyName("stopped")] string? Stopped = null,
    [property: JsonPropertyName("held")] int Held = 0);

/// <summary>The last line of `update --json`.</summary>
public sealed record SummaryLine([property: JsonPropertyName("summary")] PassSummary Summary);
