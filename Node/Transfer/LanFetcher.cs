using PeerPatch.Node.Primitives;
using PeerPatch.Storage;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// Fetches a blob from a LAN node into the local store, verified against the upstream list's hash and size.
/// Any doubt (wrong length, wrong bytes, stall, error status) is a failure the caller answers with the internet.
/// </summary>
internal sealed class LanFetcher(
    [Microsoft.Extensions.DependencyInjection.FromKeyedServices(HttpClients.Lan)] HttpClient http,
    BlobStore store,
    NodeIdentity self,
    TransferOptions options,
    NodeStats stats,
    TimeProvider time)
{
    /// <summary>
    /// Fetches the blob of <paramref name="patch"/> and records it (with that row, added now by this node) in the
    /// local store.
    /// </summary>
    /// <param name="observer">Optional: follows the byte count (progress display).</param>
    public async Task<FetchResult> FetchAsync(Uri url, PatchRecord patch, ByteProgress? observer, CancellationToken ct)
    {
        var progress = new ByteProgress(n =>
        {
            stats.AddLanBytesFetched(n);
            observer?.Report(observer.Value + n);
        });
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return FetchResult.Failure(0, $"LAN server answered {(int)response.StatusCode} for {url}") with { NotThere = response.StatusCode == System.Net.HttpStatusCode.NotFound };
            }

            if (response.Content.Headers.ContentLength is { } length && length != patch.Size)
            {
                return FetchResult.Failure(0, $"LAN server announced {length} bytes, the list says {patch.Size}");
            }

            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using var stream = new IdleTimeoutStream(body, options.LanStallTimeout, time);
            await using var writer = store.BeginWrite(patch.Sha256, patch.Size, patch.Size);
            writer.Patch = patch with { AddedAt = time.GetUtcNow(), AddedBy = self.NodeId, Hits = 0, LastHit = null };
            var result = await writer.CopyFromAsync(stream, ct, progress).ConfigureAwait(false);
            return result.Succeeded
                ? FetchResult.Success(progress.Value)
                : FetchResult.Failure(progress.Value, $"LAN copy rejected: {result.Message}");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException
                                   || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            return FetchResult.Failure(progress.Value, $"LAN fetch failed: {e.Message}");
        }
    }
}
