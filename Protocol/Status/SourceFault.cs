using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// A LAN source that proved wrong for one blob, as the node it was listed to reports it to the LAN server
/// (POST /v1/sources/faults takes a JSON array of these, at most <see cref="MaxPerReport"/>). Untrusted on arrival:
/// the server checks each field against <see cref="WireFormat"/> and <see cref="Kinds"/>, and acts on a fault once two
/// nodes it knows have reported it.
/// </summary>
/// <param name="Sha256">The blob.</param>
/// <param name="NodeId">The source that proved wrong.</param>
/// <param name="Kind"><see cref="BadBytes"/> or <see cref="Gone"/>.</param>
public sealed record SourceFault(
    [property: JsonPropertyName("sha256")] string? Sha256,
    [property: JsonPropertyName("node")] string? NodeId,
    [property: JsonPropertyName("kind")] string? Kind)
{
    /// <summary>It sent a piece or a piece list that failed its hash (or vouched for a list whose pieces do not make the blob).</summary>
    public const string BadBytes = "bad-bytes";

    /// <summary>It answered 404/410 for a blob it had been listed as holding, after serving part of it or being asked again.</summary>
    public const string Gone = "gone";

    /// <summary>Most faults one report carries; more wait for the next.</summary>
    public const int MaxPerReport = 64;

    /// <summary>The kinds a report may name.</summary>
    public static readonly IReadOnlyList<string> Kinds = [BadBytes, Gone];
}
