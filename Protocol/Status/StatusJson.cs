using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// Reads the status documents of this namespace as they come from another machine: web casing, at most
/// <c>maxBytes</c> (a longer answer is an error, not an allocation), strict JSON.
/// </summary>
public static class StatusJson
{
    /// <summary>The serializer options of every status document (web casing), resolved by <see cref="StatusJsonContext"/>.</summary>
    public static JsonSerializerOptions Options => StatusJsonContext.Default.Options;

    /// <exception cref="JsonException">The document is malformed, empty or longer than <paramref name="maxBytes"/>.</exception>
    public static async Task<T> ReadAsync<T>(Stream body, JsonTypeInfo<T> type, int maxBytes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(type);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > maxBytes)
            {
                throw new JsonException($"document longer than {maxBytes} bytes");
            }

            buffer.Write(chunk, 0, n);
        }

        return JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), type) ?? throw new JsonException("empty document");
    }
}
