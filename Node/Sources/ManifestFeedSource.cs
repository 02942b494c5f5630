using System.Buffers;

namespace PeerPatch.Node.Sources;

/// <summary>Reads a manifest feed over HTTP(S); "{os}" in the URL becomes the node's OS key.</summary>
internal sealed class ManifestFeedSource(string urlTemplate, HttpClient http, long maxPatchBytes) : IPatchSource
{
    public string Description => $"manifest {urlTemplate}";

    public async Task<IReadOnlyList<PatchSpec>> GetPatchesAsync(string osVersion, CancellationToken ct)
    {
        var url = urlTemplate.Replace("{os}", Uri.EscapeDataString(osVersion), StringComparison.Ordinal);
        byte[] body;
        int length;
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new PatchSourceException($"feed {url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            if (response.Content.Headers.ContentLength > ManifestFeed.MaxFeedBytes)
            {
                throw new PatchSourceException($"feed {url} is larger than {ManifestFeed.MaxFeedBytes} bytes");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            (body, length) = await ReadBoundedAsync(stream, url, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException
                                   || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            // Truncated, reset, stalled or too slow (the internet client's bounds): this source's error, not the pass's.
            throw new PatchSourceException($"feed {url} could not be read: {Reason(e)}", e);
        }

        try
        {
            return ManifestFeed.Parse(body.AsSpan(0, length), osVersion, maxPatchBytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>The outer message and, when it says less, the innermost one ("response ended prematurely").</summary>
    private static string Reason(Exception e) => e.GetBaseException() is { } inner && inner != e && inner.Message != e.Message ? $"{e.Message} ({inner.Message})" : e.Message;

    private static async Task<(byte[] Buffer, int Length)> ReadBoundedAsync(Stream stream, string url, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= ManifestFeed.MaxFeedBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw new PatchSourceException($"feed {url} is larger than {ManifestFeed.MaxFeedBytes} bytes");
                }

                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, ManifestFeed.MaxFeedBytes));
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, ManifestFeed.MaxFeedBytes) - length), ct).ConfigureAwait(false);
            if (read == 0)
            {
                return (buffer, length);
            }

            length += read;
        }
    }
}
