using System.Text.Json;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// Reads the status documents of this namespace as they come from another machine: web casing, at most
/// <c>maxBytes</c> (a longer answer is an error, not an allocation), strict JSON.
/// </summary>
public static class StatusJson
{
    /// <summary>The serializer options of every status document (web casing).</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);

    /// <exception cref="JsonException">The document is malformed, empty or longer than <paramref name="maxBytes"/>.</exception>
    public static async Task<T> ReadAsync<T>(Stream body, int maxBytes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(body);
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

        return JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), Options) ?? throw new JsonException("empty document");
    }
}
