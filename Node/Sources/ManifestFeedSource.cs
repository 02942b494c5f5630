using System.Buffers;

namespace PeerPatch.Node.Sources;

/// <summary>
/// Reads a manifest feed over HTTP(S); "{os}" in the URL becomes the node's OS key. A request that got no connection
/// (refused, or none within the internet client's connect bound) is tried again after 1 s and 2 s: the feed host was
/// not reached, so nothing it said is being ignored, and a pass is not lost to one dropped SYN (seen at 50 PCs started
/// together). Anything after the connection (a status, a stall, a truncated body) is that source's error at once.
/// </summary>
internal sealed class ManifestFeedSource(string urlTemplate, HttpClient http, long maxPatchBytes) : IPatchSource
{
    /// <summary>Tries of a feed request that gets no connection.</summary>
    internal const int ConnectAttempts = 3;

    public string Description => $"manifest {urlTemplate}";

    public async Task<IReadOnlyList<PatchSpec>> GetPatchesAsync(string osVersion, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await GetOnceAsync(osVersion, ct).ConfigureAwait(false);
            }
            catch (PatchSourceException e) when (e.InnerException is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError })
            {
                if (attempt == ConnectAttempts)
                {
                    throw new PatchSourceException($"{e.Message} (tried {ConnectAttempts} times)", e.InnerException);
                }

                await Task.Delay(TimeSpan.FromSeconds(attempt), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<IReadOnlyList<PatchSpec>> GetOnceAsync(string osVersion, CancellationToken ct)
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
