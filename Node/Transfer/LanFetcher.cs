using PeerPatch.Node.Primitives;
using PeerPatch.Storage;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// Fetches a blob from a LAN node into the local store, verified against the upstream list's hash and size.
/// Any doubt (wrong length, wrong bytes, stall, a trickle, error status) is a failure the caller answers with the
/// internet. A source that is busy (503: its upload slots are taken) is asked again after its Retry-After, for at most
/// <see cref="TransferOptions.LanBusyWaitMax"/> in all. Every wait is bounded: the headers by
/// <see cref="TransferOptions.LanStallTimeout"/> plus <see cref="ServerStreamWait"/>; the body of a held blob by the
/// minimum rate (<see cref="TransferOptions.LanMinBytesPerWindow"/> per window), and of a cut-through stream, which
/// comes at the holder's internet pace, by the stall window alone.
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
    /// How long a server may hold a cut-through GET before its headers while the holder's push has not started
    /// (<c>BlobEndpoints.LiveWait</c>): added to <see cref="TransferOptions.LanStallTimeout"/> for the wait for headers.
    /// </summary>
    public static readonly TimeSpan ServerStreamWait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Fetches the blob of <paramref name="patch"/> and records it (with that row, added now by this node) in the
    /// local store.
    /// </summary>
    /// <param name="observer">Optional: follows the byte count (progress display).</param>
    /// <param name="cutThrough">
    /// true: the blob is still arriving at its holder and streams through the server at the holder's internet pace, so
    /// its body is bounded by the stall window only (not the LAN's minimum rate); and a 503 ends the fetch at once
    /// (<see cref="FetchResult.Busy"/>), because the caller has a better next step than waiting for this source
    /// (asking the server again finds the finished blob's holders).
    /// </param>
    public async Task<FetchResult> FetchAsync(Uri url, PatchRecord patch, ByteProgress? observer, CancellationToken ct, bool cutThrough = false)
    {
        var progress = new ByteProgress(n =>
        {
            stats.AddLanBytesFetched(n);
            observer?.Report(observer.Value + n);
        });
        try
        {
            var busySince = time.GetTimestamp();
            HttpResponseMessage response;
            while (true)
            {
                using (var headers = new CancellationTokenSource(options.LanStallTimeout + ServerStreamWait, time))
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, headers.Token))
                {
                    try
                    {
                        response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (headers.IsCancellationRequested && !ct.IsCancellationRequested)
                    {
                        return FetchResult.Failure(0, $"LAN source {url.Authority} sent no answer within {(options.LanStallTimeout + ServerStreamWait).TotalSeconds:0} s");
                    }
                }
                if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }

                var waited = time.GetElapsedTime(busySince);
                var pause = RetryAfter(response);
                response.Dispose();
                if (cutThrough)
                {
                    return FetchResult.Failure(0, $"LAN source {url.Authority} is busy (503)") with { Busy = true, RetryAfter = pause };
                }

                if (waited >= options.LanBusyWaitMax)
                {
                    return FetchResult.Failure(0, $"LAN source {url.Authority} stayed busy (503) for {waited.TotalSeconds:0} s");
                }

                await Task.Delay(pause, time, ct).ConfigureAwait(false);
            }

            using var answered = response;
            if (!response.IsSuccessStatusCode)
            {
                return FetchResult.Failure(0, $"LAN server answered {(int)response.StatusCode} for {url}") with { NotThere = response.StatusCode == System.Net.HttpStatusCode.NotFound };
            }

            if (response.Content.Headers.ContentLength is { } length && length != patch.Size)
            {
                return FetchResult.Failure(0, $"LAN server announced {length} bytes, the list says {patch.Size}");
            }

            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using var stream = new IdleTimeoutStream(body, options.LanStallTimeout, time, cutThrough ? 1 : options.LanMinBytesPerWindow);
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

    /// <summary>A busy source's Retry-After (seconds), kept between 0.2 s and 5 s; 1 s when it gives none or a date.</summary>
    internal static TimeSpan RetryAfter(HttpResponseMessage response)
    {
        var delta = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
        return TimeSpan.FromMilliseconds(Math.Clamp(delta.TotalMilliseconds, 200, 5000));
    }
}
