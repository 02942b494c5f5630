using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// One blob a node holds, as it reports it to the LAN server (POST /v1/inventory takes a JSON array of these).
/// Untrusted on arrival: every field may be missing or wrong, and the server checks each against
/// <see cref="WireFormat"/> before it remembers the entry.
/// </summary>
public sealed record InventoryEntry(
    [property: JsonPropertyName("os")] string? Os,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("sha256")] string? Sha256,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("upstreamUrl")] string? UpstreamUrl);
