using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Transfer;

/// <summary>The network half of <see cref="SwarmFetcher"/>: the piece list, and one piece from one source.</summary>
internal sealed partial class SwarmFetcher
{
    /// <summary>Bytes gathered from the network per write to the blob (and buffered per piece in flight).</summary>
    private const int BufferBytes = 64 * 1024;

    /// <summary>How long the other holders' piece lists are waited for once one valid list is in.</summary>
    private static readonly TimeSpan ListGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The piece lists to fetch by, each with the sources to fetch from, in the order to try them (empty when no source
    /// served a valid list), and whether they agree (a single list: only then are the pieces offered to others while
    /// they arrive). A list must fit the upstream hash and size and the piece size the server announced; a source that
    /// serves one that does not is dropped.
    /// <list type="bullet">
    /// <item>The server's list, when it is a source and serves a valid one, is the only one, with every source: it
    /// computed it from a verified copy.</item>
    /// <item>Otherwise the list comes from holders, and one holder's word is not enough: every holder listed (at most
    /// <see cref="Protocol.ProtocolLimits.MaxSources"/>) is asked at once, the others get <see cref="ListGrace"/> after
    /// the first valid answer (a silent holder does not hold the fetch for its stall bound), and the lists are grouped
    /// by their piece hashes. Each list is fetched by only from the holders that served it, the list most of them serve
    /// first (rank breaks a tie): so a made-up list never gets an honest holder blamed for a bad piece, whether it is
    /// outvoted or the only one that came. Its holders' bytes either fail it (dropped at the first piece) or match it
    /// and fail the upstream hash as a whole (its holders dropped, the next list tried).</item>
    /// </list>
    /// Holders that answered 404/410 are late (<see cref="Late"/>): in no group yet; each list's run asks them again, and
    /// one joins the run whose list it serves. <c>FromServer</c>: the single list is the server's.
    /// </summary>
    private async Task<(List<(PieceList List, List<SourceState> Sources)> Lists, bool Agreed, bool FromServer)> GetPieceListsAsync(List<SourceState> states, PatchRecord patch, int pieceSize, CancellationToken ct)
    {
        if (states.Find(s => s.Source.IsServer) is { } server)
        {
            var (list, error, fault) = await TryGetPieceListAsync(server.Source, patch.Sha256, patch.Size, pieceSize, ct).ConfigureAwait(false);
            if (list is not null)
            {
                server.Vouched = true;
                return ([(list, states)], true, true);
            }

            Refused(server, patch, error!, fault);
        }

        var asked = states.Where(s => !s.Dropped && !s.Source.IsServer).ToList(); // the server, asked first, served none
        using var asking = CancellationTokenSource.CreateLinkedTokenSource(ct);
        async Task<(PieceList? List, string? Error, ListFault Fault)> AskAsync(SourceState source)
        {
            try
            {
                return await TryGetPieceListAsync(source.Source, patch.Sha256, patch.Size, pieceSize, asking.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return (null, $"piece list: none within {ListGrace.TotalSeconds:0.#} s of another holder's", ListFault.Transient);
            }
        }

        var pending = asked.Select(AskAsync).ToList();
        var all = Task.WhenAll(pending);
        while (!all.IsCompleted && !pending.Exists(t => t.IsCompletedSuccessfully && t.Result.List is not null))
        {
            await Task.WhenAny(pending.Where(t => !t.IsCompleted).Cast<Task>().Append(all)).ConfigureAwait(false);
        }

        if (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(ListGrace, time, ct)).ConfigureAwait(false);
            await asking.CancelAsync().ConfigureAwait(false);
        }

        var answers = await all.ConfigureAwait(false);
        var groups = new List<(PieceList List, List<SourceState> Sources)>();
        for (var i = 0; i < asked.Count; i++)
        {
            var (list, error, fault) = answers[i];
            if (list is null)
            {
                Refused(asked[i], patch, error!, fault);
                continue;
            }

            asked[i].Vouched = true;
            var same = groups.FindIndex(g => g.List.Pieces.SequenceEqual(list.Pieces, StringComparer.Ordinal));
            if (same >= 0)
            {
                groups[same].Sources.Add(asked[i]);
            }
            else
            {
                groups.Add((list, [asked[i]]));
            }
        }

        if (groups.Count > 1)
        {
            Log.ListsDisagree(logger, patch.Sha256, groups.Count, string.Join(" | ", groups.Select(g => string.Join(", ", g.Sources.Select(s => s.Source.NodeId)))));
        }

        return ([.. groups.OrderByDescending(g => g.Sources.Count)], groups.Count == 1, false); // stable: on a tie, the group of the better ranked holder first
    }

    /// <summary>
    /// A source served no valid piece list: noted; dropped when what it served was bad, or when the server answered
    /// 404/410; late (<see cref="Late"/>) when a holder did, as one the server has just handed the blob does until its own
    /// fetch has a list.
    /// </summary>
    private void Refused(SourceState source, PatchRecord patch, string error, ListFault fault)
    {
        source.LastError = error;
        if (fault == ListFault.Absent && !source.Source.IsServer)
        {
            Late(source, time.GetTimestamp());
        }
        else if (fault is ListFault.Bad or ListFault.Absent)
        {
            // the server lists itself only while it holds the blob: a 404 there is an eviction (never reported: the
            // server is not a listed holder)
            Drop(source, patch.Sha256, error, fault == ListFault.Bad ? SourceFault.BadBytes : null);
        }
    }

    /// <summary>How a source answered a piece list request that brought no valid list.</summary>
    private enum ListFault
    {
        None,

        /// <summary>404/410: it holds neither the blob nor a fetch of it under way (evicted, or its fetch has not begun yet).</summary>
        Absent,

        /// <summary>A list that does not fit the blob, or not a list: the source is dropped.</summary>
        Bad,

        /// <summary>A reset, a stall, another status.</summary>
        Transient,
    }

    private async Task<(PieceList? List, string? Error, ListFault Fault)> TryGetPieceListAsync(SwarmSource source, string sha256, long size, int pieceSize, CancellationToken ct)
    {
        var url = new Uri(source.BlobUrl, BlobUrl.PiecesOf(sha256));
        var limit = (PieceList.CountFor(size, pieceSize) * 70L) + 1024;
        try
        {
            using var headers = new CancellationTokenSource(options.LanStallTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, headers.Token);
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var absent = response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone;
                return (null, $"piece list: {(int)response.StatusCode}", absent ? ListFault.Absent : ListFault.Transient);
            }

            if (response.Content.Headers.ContentLength > limit)
            {
                return (null, $"piece list of {response.Content.Headers.ContentLength} bytes (at most {limit})", ListFault.Bad);
            }

            await using var body = LanBody(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
            using var text = new MemoryStream();
            var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
            try
            {
                int read;
                while ((read = await body.ReadAsync(buffer.AsMemory(0, BufferBytes), ct).ConfigureAwait(false)) > 0)
                {
                    if (text.Length + read > limit)
                    {
                        return (null, $"piece list longer than {limit} bytes", ListFault.Bad);
                    }

                    text.Write(buffer, 0, read);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            var list = JsonSerializer.Deserialize(text.GetBuffer().AsSpan(0, (int)text.Length), StatusJsonContext.Default.PieceList);
            if (list is null || !list.IsValidFor(sha256, size) || list.PieceSize != pieceSize)
            {
                return (null, "piece list does not fit the blob (hash, size, piece size or hashes)", ListFault.Bad);
            }

            return (list, null, ListFault.None);
        }
        catch (JsonException e)
        {
            return (null, $"piece list unreadable: {e.Message}", ListFault.Bad);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException or InvalidOperationException or FormatException
                                   || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            return (null, $"piece list: {e.Message}", ListFault.Transient);
        }
    }

    /// <summary>
    /// A late source's piece list, asked again (see <see cref="Late"/>): <see cref="AttemptKind.ListServed"/> with the
    /// list, or why not (<see cref="AttemptKind.Gone"/> for 404/410). Bounded by <see cref="LateCheckTimeout"/>, whatever
    /// the stall bound; never throws.
    /// </summary>
    private async Task<Attempt> CheckListAsync(SourceState state, Run run, CancellationToken cancel)
    {
        await Task.Yield(); // the piece loop goes on
        try
        {
            using var bound = new CancellationTokenSource(LateCheckTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, bound.Token);
            var (list, error, fault) = await TryGetPieceListAsync(state.Source, run.List.Sha256, run.List.Size, run.List.PieceSize, linked.Token).ConfigureAwait(false);
            return list is not null
                ? new Attempt(state, ListCheck, AttemptKind.ListServed, string.Empty, List: list)
                : new Attempt(state, ListCheck, fault switch { ListFault.Bad => AttemptKind.BadList, ListFault.Absent => AttemptKind.Gone, _ => AttemptKind.Failed }, error!);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return new Attempt(state, ListCheck, AttemptKind.Failed, $"piece list: none within {LateCheckTimeout.TotalSeconds:0.#} s");
        }
        catch (OperationCanceledException)
        {
            return new Attempt(state, ListCheck, AttemptKind.Failed, "the fetch ended");
        }
    }

    /// <summary>
    /// One piece from one source: a Range GET whose body goes straight to the piece's place in the temp file while it
    /// is hashed (an endgame copy, <paramref name="keep"/>, into memory instead); every wait bounded: the headers by
    /// <see cref="TransferOptions.LanStallTimeout"/>, the body by the minimum rate (see <see cref="LanBody"/>), the
    /// whole attempt by <see cref="PieceDeadline"/>. Never throws: every end is an <see cref="Attempt"/>.
    /// </summary>
    private async Task<Attempt> FetchPieceAsync(SourceState state, int piece, Run run, bool keep, CancellationToken cancel)
    {
        await Task.Yield(); // the piece loop goes on starting others
        var source = state.Source;
        var from = (long)piece * run.List.PieceSize;
        var length = PieceLength(run.List, piece);
        var to = from + length - 1;
        var limit = PieceDeadline(length);
        using var deadline = new CancellationTokenSource(limit, time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancel, deadline.Token);
        var ct = bounded.Token;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, source.BlobUrl);
            request.Headers.Range = new RangeHeaderValue(from, to);
            HttpResponseMessage response;
            using (var headers = new CancellationTokenSource(options.LanStallTimeout, time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, headers.Token))
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            }

            using (response)
            {
                var held = HeldBy(response, run.List.Pieces.Count);
                if (Refusal(state, piece, response) is { } refused)
                {
                    return refused with { Held = held };
                }

                var range = response.Content.Headers.ContentRange;
                var whole = response.StatusCode == HttpStatusCode.OK && from == 0 && length == run.List.Size;
                if (!whole && (response.StatusCode != HttpStatusCode.PartialContent || range is null || range.From != from || range.To != to
                               || (range.Length is { } total && total != run.List.Size)))
                {
                    return new Attempt(state, piece, AttemptKind.Failed, $"answered {(int)response.StatusCode} {range} for bytes {from}-{to}");
                }

                if (response.Content.Headers.ContentLength is { } declared && declared != length)
                {
                    return new Attempt(state, piece, AttemptKind.Failed, $"announced {declared} bytes for a piece of {length}");
                }

                await using var body = LanBody(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
                return await CopyPieceAsync(state, piece, from, length, body, run, keep ? new byte[length] : null, ct).ConfigureAwait(false) with { Held = held };
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancel.IsCancellationRequested)
        {
            return new Attempt(state, piece, AttemptKind.Failed, $"no whole piece within {limit.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException or OperationCanceledException
                                   or InvalidOperationException or FormatException)
        {
            // Whatever one peer does ends this attempt only: the piece goes elsewhere.
            return new Attempt(state, piece, AttemptKind.Failed, e.Message);
        }
    }

    /// <summary>
    /// A LAN body (piece or piece list) whose waits are bounded: each <see cref="TransferOptions.LanStallTimeout"/> of
    /// waiting must bring <see cref="TransferOptions.LanMinBytesPerWindow"/> bytes, so a trickle fails like a stall.
    /// </summary>
    private IdleTimeoutStream LanBody(Stream body) => new(body, options.LanStallTimeout, time, options.LanMinBytesPerWindow);

    /// <summary>
    /// The bound on one whole piece attempt: the headers' window, one window per <see cref="TransferOptions.LanMinBytesPerWindow"/>
    /// of the piece (what the minimum rate allows), and one more for the disk.
    /// </summary>
    private TimeSpan PieceDeadline(int length) =>
        options.LanStallTimeout * (2 + Math.Ceiling((double)length / Math.Max(1, options.LanMinBytesPerWindow)));

    /// <summary>The answers that carry no piece: 404/410 (gone), 503 (busy, with its Retry-After) and other errors.</summary>
    private static Attempt? Refusal(SourceState state, int piece, HttpResponseMessage response) => response.StatusCode switch
    {
        HttpStatusCode.NotFound or HttpStatusCode.Gone => new Attempt(state, piece, AttemptKind.Gone, $"answered {(int)response.StatusCode}"),
        HttpStatusCode.ServiceUnavailable => new Attempt(state, piece, AttemptKind.Busy, "busy (503)", BusyPause(response.Headers.RetryAfter)),
        _ when !response.IsSuccessStatusCode => new Attempt(state, piece, AttemptKind.Failed, $"answered {(int)response.StatusCode}"),
        _ => null,
    };

    /// <summary>The pieces a holder still receiving says it has; null when it sent no bitfield, or one that does not fit the blob.</summary>
    private static bool[]? HeldBy(HttpResponseMessage response, int count) =>
        response.Headers.TryGetValues(ApiHeaders.PiecesHeld, out var values) && values.ToList() is [var text]
        && PieceBitfield.TryParse(text, count, out var held) ? held : null;

    private static TimeSpan BusyPause(RetryConditionHeaderValue? retryAfter)
    {
        var pause = retryAfter?.Delta ?? TimeSpan.Zero;
        return pause < MinBusyPause ? MinBusyPause : pause > MaxBusyPause ? MaxBusyPause : pause;
    }

    /// <param name="keep">Null: the bytes go into the temp file; else into this (an endgame copy, written once kept).</param>
    private async Task<Attempt> CopyPieceAsync(SourceState state, int piece, long from, int length, Stream body, Run run, byte[]? keep, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            var got = 0;
            while (got < length)
            {
                // The buffer is filled before it is hashed and written: a socket read returns what has arrived, often
                // much less than the buffer, and each read of its own would cost a positional write (a thread-pool hop
                // on Unix). Bytes are counted as they arrive, so a source cut mid-buffer is still charged for them.
                var chunk = Math.Min(BufferBytes, length - got);
                var read = 0;
                while (read < chunk)
                {
                    var n = await body.ReadAsync(buffer.AsMemory(read, chunk - read), ct).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return new Attempt(state, piece, AttemptKind.Failed, $"the body ended after {got + read} of {length} bytes");
                    }

                    stats.AddPieceBytes(n, state.Source.IsServer);
                    run.Received(n);
                    read += n;
                }

                hash.AppendData(buffer, 0, read);
                try
                {
                    if (keep is null)
                    {
                        await run.Writer.WriteAtAsync(from + got, buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    }
                    else
                    {
                        buffer.AsSpan(0, read).CopyTo(keep.AsSpan(got));
                    }
                }
                catch (IOException e)
                {
                    return new Attempt(state, piece, AttemptKind.DiskFailed, $"writing the blob failed: {e.Message}");
                }

                got += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        return actual == run.List.Pieces[piece]
            ? new Attempt(state, piece, AttemptKind.Verified, string.Empty, Kept: keep)
            : new Attempt(state, piece, AttemptKind.BadPiece, $"piece {piece} hashes to {actual}, the list says {run.List.Pieces[piece]}");
    }
}
