using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Status;

/// <summary>One patch's result, as `peerpatch update --json` prints it.</summary>
/// <remarks>
/// Its state: <see cref="Applied"/>; failed when <see cref="Error"/> is set; held by the LAN's policy (not a failure,
/// not applied, no bytes moved) when <see cref="HeldBy"/> is set, which says why ("ring 0 delay until ...", "held by
/// admin", "outside download window"); otherwise pending.
/// </remarks>
public sealed record PatchOutcome(
    [property: JsonPropertyName("os")] string Os,
    [property: JsonPropertyName("patch")] string Patch,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("from")] string? From,
    [property: JsonPropertyName("applied")] bool Applied,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("dryRun")] bool DryRun = false,
    [property: JsonPropertyName("heldBy")] string? HeldBy = null);

/// <summary>Where a patch's bytes came from.</summary>
public static class Origin
{
    public const string Lan = "lan";
    public const string Internet = "internet";
}
