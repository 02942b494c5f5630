using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Updating;

/// <summary>The small steps of <see cref="PatchPipeline"/>: LAN fetch, cut-through stream, fallback, and the end of a wait.</summary>
internal sealed partial class PatchPipeline
{
    /// <summary>Ends a wait on a claim, if one is running, and observes its length: every counted wait is observed once.</summary>
    private void EndWait(ClaimWait wait)
    {
        if (wait.End(_time.MonotonicNow()) is { } waited)
        {
            _stats.ClaimWaited(waited);
        }
    }

    /// <summary>
    /// The cut-through step of a wait: the holder's bytes through the server as they arrive. The result when they
    /// came whole; null when the stream was not there yet or broke off (counted): then the wait goes on.
    /// </summary>
    private async Task<Obtained?> StreamAsync(IServerChannel server, string blobUrl, PatchSpec patch, ClaimWait wait, PatchProgress progress, CancellationToken ct)
    {
        if (wait.Begin(_time.MonotonicNow()))
        {
            _stats.ClaimWait(); // counted like any wait on a claim, so the wait-time samples match the count
        }

        var streamed = await FetchFromLanAsync(server, blobUrl, patch, progress, ct).ConfigureAwait(false);
        if (streamed.Ok)
        {
            EndWait(wait);
            PipelineLog.Streamed(_logger, patch.Name, server.Name, streamed.Bytes);
            return new Obtained(Origin.Lan, streamed);
        }

        if (!streamed.NotThere)
        {
            // The holder's download or push broke off, the bytes were wrong, or the server failed: ask again.
            var failures = wait.StreamFailed();
            _stats.LanFailure();
            PipelineLog.StreamFailed(_logger, patch.Name, streamed.Error!, failures, ObtainPolicy.MaxStreamFailures);
        }

        return null;
    }

    /// <summary>The LAN fetch step: the blob at <paramref name="blobUrl"/> (as the server names it) into the local store, verified.</summary>
    private Task<FetchResult> FetchFromLanAsync(IServerChannel server, string blobUrl, PatchSpec patch, PatchProgress progress, CancellationToken ct)
    {
        Uri url;
        try
        {
            url = server.ResolveBlobUrl(blobUrl);
        }
        catch (Exception e) when (e is LanUnavailableException or InvalidOperationException or UriFormatException)
        {
            // The session that named the URL's host is gone, or this server's own copy went away after its hit.
            return Task.FromResult(FetchResult.Failure(0, $"LAN blob URL {blobUrl} unusable: {e.Message}"));
        }

        var bytes = new ByteProgress();
        progress.Set(patch.Name, ProgressStage.Lan, patch.Size, bytes);
        return _lan.FetchAsync(url, patch, bytes, ct);
    }

    /// <summary>The fallback step: straight from the internet, because the LAN could not help (counted and logged with why).</summary>
    private async Task<Obtained> DirectAsync(PatchSpec patch, string reason, PatchProgress progress, CancellationToken ct)
    {
        // Without the server, this node applies the last known policy's windows and quota itself (not the LAN-wide cap).
        if (_policy.FallbackHeld(patch) is { } held)
        {
            return Obtained.Held(held);
        }

        _stats.ServerFallback();
        _events.Add(NodeEventKinds.Fallback, $"{patch.Name}: {reason}");
        PipelineLog.Fallback(_logger, patch.Name, reason);
        var bytes = new ByteProgress();
        progress.Set(patch.Name, ProgressStage.Internet, patch.Size, bytes);
        var result = await _internet.DownloadAsync(patch, bytes, ct).ConfigureAwait(false);
        if (!result.Ok)
        {
            _policy.FallbackFailed(patch);
        }

        return new Obtained(Origin.Internet, result);
    }
}
