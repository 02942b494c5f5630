using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// One progress line of POST /v1/update, as `peerpatch update` reads it: <see cref="Stage"/> is lookup, lan,
/// internet, waiting, verifying or applying; <see cref="Bytes"/> of <see cref="Total"/> moved so far.
/// </summary>
public sealed record TransferProgress(
    [property: JsonPropertyName("patch")] string Patch,
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("total")] long Total);

/// <summary>A progress line of POST /v1/update: {"progress":{...}}.</summary>
public sealed record ProgressLine([property: JsonPropertyName("progress")] TransferProgress Progress);
