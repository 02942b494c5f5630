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
    BlobStore store,
    NodeIdentity self,
    TransferOptions options,
    NodeStats stats,
    IRandomSource random,
    TimeProvider time,
    ILogger<InternetDownloader> logger)
{
    /// <summary>
    /// Downloads <paramref name="url"/> into the store as the blob of <paramref name="patch"/> (its hash and size are
    /// the upstream list's; the row is recorded as added now by this node).
    /// </summary>
    public async Task<FetchResult> DownloadAsync(Uri url, PatchRecord patch, ByteProgress progress, CancellationToken ct)
    {
        long total = 0;
        string error = "no attempt made";
        for (var attempt = 1; attempt <= options.InternetAttempts; attempt++)
        {
            var (result, transient) = await TryOnceAsync(url, patch, progress, ct).ConfigureAwait(false);
            total += result.Bytes;
            if (result.Ok || !transient)
            {
                return result with { Bytes = total };
            }

            error = result.Error!;
            if (attempt < options.InternetAttempts)
            {
                var delay = TimeSpan.FromSeconds(Math.Pow(2, attempt - 1) * (0.75 + (random.NextDouble() / 2)));
                Log.Retrying(logger, patch.PatchName, attempt, options.InternetAttempts, delay.TotalSeconds, error);
                await Task.Delay(delay, time, ct).ConfigureAwait(false);
            }
        }

        return FetchResult.Failure(total, $"{error} (after {options.InternetAttempts} attempts)");
    }

    private async Task<(FetchResult Result, bool Transient)> TryOnceAsync(Uri url, PatchRecord patch, ByteProgress overall, CancellationToken ct)
    {
        var start = overall.Value;
        var attemptProgress = new ByteProgress(n =>
        {
            stats.AddInternetBytes(n);
            overall.Report(overall.Value + n);
        });
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
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
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
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
