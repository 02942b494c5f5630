using System.Net;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Storage;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// Downloads a patch from its upstream URL straight into the local blob store (streamed, hashed, verified
/// against the upstream list). Transient failures (network errors, stalls, 5xx, short or wrong bodies) are
/// retried with exponential back-off; a 4xx or a full disk is final.
/// </summary>
internal sealed partial class InternetDownloader(
    [Microsoft.Extensions.DependencyInjection.FromKeyedServices(HttpClients.Internet)] HttpClient http,
    [Microsoft.Extensions.DependencyInjection.FromKeyedServices(HttpClients.InternetPaced)] HttpClient paced,
    BlobStore store,
    NodeIdentity self,
    TransferOptions options,
    NodeStats stats,
    IRandomSource random,
    TimeProvider time,
    ILogger<InternetDownloader> logger)
{
    /// <summary>The longest wait between two tries (InternetAttempts may be up to 20: 2^19 s uncapped).</summary>
    internal static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(60);

    /// <summary>Back-off between tries: 1 s, 2 s, 4 s ... each ±25 %, at most <see cref="MaxRetryDelay"/>.</summary>
    internal static readonly Backoff RetryBackoff = new(TimeSpan.FromSeconds(1), MaxRetryDelay, factor: 2, jitter: 0.25);

    /// <summary>
    /// Downloads <paramref name="url"/> into the store as the blob of <paramref name="patch"/> (its hash and size are
    /// the upstream list's; the row is recorded as added now by this node).
    /// </summary>
    public Task<FetchResult> DownloadAsync(Uri url, PatchRecord patch, ByteProgress progress, CancellationToken ct) =>
        DownloadAsync(url, patch, progress, null, ct);

    /// <summary>The same, its body read no faster than <paramref name="rate"/> allows (this node's share of the LAN-wide cap; null: unpaced).</summary>
    public async Task<FetchResult> DownloadAsync(Uri url, PatchRecord patch, ByteProgress progress, RateAllowance? rate, CancellationToken ct)
    {
        var retry = new RetryPolicy(RetryBackoff, options.InternetAttempts, random, time);
        long total = 0;
        for (var attempt = 1; ; attempt++)
        {
            var (result, transient) = await TryOnceAsync(url, patch, progress, rate, ct).ConfigureAwait(false);
            total += result.Bytes;
            if (result.Ok || !transient)
            {
                return result with { Bytes = total };
            }

            if (!retry.TryNext(attempt, out var delay))
            {
                return FetchResult.Failure(total, $"{result.Error} (after {retry.MaxAttempts} attempts)");
            }

            Log.Retrying(logger, patch.PatchName, attempt, retry.MaxAttempts, delay.TotalSeconds, result.Error!);
            await retry.WaitAsync(delay, ct).ConfigureAwait(false);
        }
    }

    private async Task<(FetchResult Result, bool Transient)> TryOnceAsync(Uri url, PatchRecord patch, ByteProgress overall, RateAllowance? rate, CancellationToken ct)
    {
        var start = overall.Value;
        var attemptProgress = new ByteProgress(n =>
        {
            stats.AddInternetBytes(n);
            overall.Report(overall.Value + n);
        });
        try
        {
            // A capped download goes through the paced client, whose connections' receive buffers match the rate.
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            var client = http;
            if (rate is { BytesPerSecond: > 0 and var bytesPerSecond })
            {
                request.Options.Set(HttpClients.PacedRate, bytesPerSecond);
                client = paced;
            }

            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                var transient = status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
                return (FetchResult.Failure(0, $"upstream answered {status} {response.ReasonPhrase}"), transient);
            }

            if (response.Content.Headers.ContentLength is { } length && length != patch.Size)
            {
                return (FetchResult.Failure(0, $"upstream announced {length} bytes, the list says {patch.Size}"), true);
            }

            // The internet client bounds the wait for every body byte (stall and minimum rate).
            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using var stream = rate is null ? body : new RateLimitedStream(body, rate, time);
            await using var writer = store.BeginWrite(patch.Sha256, patch.Size, patch.Size);
            writer.Patch = patch with { AddedAt = time.GetUtcNow(), AddedBy = self.NodeId, Hits = 0, LastHit = null };
            var result = await writer.CopyFromAsync(stream, ct, attemptProgress).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return (FetchResult.Success(attemptProgress.Value), false);
            }

            return (FetchResult.Failure(attemptProgress.Value, $"internet download: {result.Message}"), result.Status != BlobWriteStatus.StorageFailed);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException
                                   || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            // The innermost message says what happened ("response ended prematurely"), the outer one rarely does.
            var reason = e.GetBaseException() is { } inner && inner != e && inner.Message != e.Message ? $"{e.Message} ({inner.Message})" : e.Message;
            return (FetchResult.Failure(overall.Value - start, $"internet download failed: {reason}"), true);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "download of {Patch} failed (attempt {Attempt}/{Attempts}), retrying in {Delay:0.0} s: {Error}")]
        public static partial void Retrying(ILogger logger, string patch, int attempt, int attempts, double delay, string error);
    }
}
