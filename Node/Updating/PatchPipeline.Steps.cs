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

        // A busy server (its upload slots taken) is not waited for here: the loop asks again, and by then the holder
        // may have finished, so that the answer lists the blob's holders instead of one stream through the server.
        var streamed = await FetchFromLanAsync(server, blobUrl, patch, progress, ct, cutThrough: true).ConfigureAwait(false);
        if (streamed.Ok)
        {
            EndWait(wait);
            PipelineLog.Streamed(_logger, patch.Name, server.Name, streamed.Bytes);
            return new Obtained(Origin.Lan, streamed);
        }

        if (streamed.Busy)
        {
            // Not asked again before its Retry-After; the lookups go on meanwhile (they find the holders once it is done).
            wait.ServerBusy(_time.MonotonicNow(), streamed.RetryAfter);
            progress.Set(patch.Name, ProgressStage.Waiting, patch.Size);
        }
        else if (!streamed.NotThere)
        {
            // The holder's download or push broke off, the bytes were wrong, or the server failed: ask again.
            var failures = wait.StreamFailed();
            _stats.LanFailure();
            PipelineLog.StreamFailed(_logger, patch.Name, streamed.Error!, failures, ObtainPolicy.MaxStreamFailures);
        }

        return null;
    }

    /// <summary>
    /// The hit step: without sources (a server without peer serving), the blob at the hit's URL; with sources and a
    /// piece size, in pieces from several of them at once (<see cref="SwarmFetcher"/>); with sources and no pieces,
    /// whole from each in turn until one delivers. Only the sources the server's answer lists are used.
    /// </summary>
    private async Task<FetchResult> FetchHitAsync(IServerChannel server, ObtainStep.FetchFromLan hit, PatchSpec patch, PatchProgress progress, CancellationToken ct)
    {
        if (hit.Sources is not { Count: > 0 } listed)
        {
            return await FetchFromLanAsync(server, hit.BlobUrl, patch, progress, ct).ConfigureAwait(false);
        }

        var serverAuthority = TryResolve(server, hit.BlobUrl)?.Authority;
        var sources = new List<SwarmSource>(listed.Count);
        foreach (var s in listed)
        {
            if (Uri.TryCreate(s.BlobUrl, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
            {
                sources.Add(new SwarmSource(s.NodeId, url, string.Equals(url.Authority, serverAuthority, StringComparison.OrdinalIgnoreCase)));
            }
        }

        var bytes = new ByteProgress();
        progress.Set(patch.Name, ProgressStage.Lan, patch.Size, bytes);
        if (hit.PieceSize > 0)
        {
            return await _swarm.FetchAsync(sources, hit.PieceSize, patch, bytes, ct).ConfigureAwait(false);
        }

        var errors = new List<string>();
        long moved = 0;
        foreach (var source in sources)
        {
            var fetched = await _lan.FetchAsync(source.BlobUrl, patch, bytes, ct).ConfigureAwait(false);
            moved += fetched.Bytes;
            if (fetched.Ok)
            {
                return fetched with { Bytes = moved };
            }

            PipelineLog.SourceFailed(_logger, patch.Name, source.NodeId, fetched.Error!);
            errors.Add($"{source.NodeId}: {fetched.Error}");
            bytes.Report(0);
        }

        return FetchResult.Failure(moved, errors.Count == 0 ? "the server listed no usable LAN source" : "every LAN source failed: " + string.Join("; ", errors));
    }

    private static Uri? TryResolve(IServerChannel server, string blobUrl)
    {
        try
        {
            return server.ResolveBlobUrl(blobUrl);
        }
        catch (Exception e) when (e is LanUnavailableException or InvalidOperationException or UriFormatException)
        {
            return null;
        }
    }

    /// <summary>The LAN fetch step: the blob at <paramref name="blobUrl"/> (as the server names it) into the local store, verified.</summary>
    private Task<FetchResult> FetchFromLanAsync(IServerChannel server, string blobUrl, PatchSpec patch, PatchProgress progress, CancellationToken ct, bool cutThrough = false)
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
        return _lan.FetchAsync(url, patch, bytes, ct, cutThrough);
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
