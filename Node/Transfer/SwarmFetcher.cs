using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// Fetches a blob in pieces from several LAN sources at once (HTTP Range), into the local store. The upstream list's
/// SHA-256 and size are the only authority: the piece list (from one source, checked against them) only lets a bad
/// source be found at its first bad piece; the whole file is hashed again before it is committed. A source that sends
/// a bad piece or a bad piece list is dropped for this blob (counted, logged with its node id), and so is one that
/// answers 404/410 once it has served something, or the server; a holder that answers 404/410 before is late (see
/// <see cref="Late"/>): asked again a few times, as the server lists holders it has only just handed the blob. One that
/// answers 503 is skipped for its Retry-After; a reset, a stall or a short body retries the piece elsewhere. When no
/// source is left the result is a failure (the caller goes to the internet) and nothing is kept.
/// Memory: one small buffer per piece in flight, whatever the blob's size.
/// <para>
/// Which piece next (<see cref="Choose"/>): each fetch takes the pieces in its own random order, so PCs fetching one
/// blob at once hold different pieces and can trade them (in index order they all held the same first pieces, and a
/// holder still receiving had nothing the others lacked). A holder still receiving sends which pieces it has verified
/// (<see cref="ApiHeaders.PiecesHeld"/>): it is asked only for those (a 503 for a piece it lacks no longer costs the
/// Retry-After when it has others), and a holder of the whole blob is asked first for the pieces those lack.
/// </para>
/// </summary>
internal sealed partial class SwarmFetcher(
    [FromKeyedServices(HttpClients.Lan)] HttpClient http,
    BlobStore store,
    PartialBlobs partials,
    NodeIdentity self,
    TransferOptions options,
    NodeStats stats,
    TimeProvider time,
    IRandomSource random,
    ILogger<SwarmFetcher> logger,
    ISourceFaults? faults = null)
{
    /// <summary>Transient failures (reset, stall, short body, odd answer) after which a source is dropped for the blob.</summary>
    public const int MaxSourceFailures = 3;

    /// <summary>How many pending pieces a pick for a whole copy compares for the rarest (see <see cref="Choose"/>).</summary>
    private const int RarestScan = 64;

    /// <summary>How long a source that failed transiently is left alone before it gets another piece.</summary>
    public static readonly TimeSpan FailurePause = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a patch's fetches together may wait on busy sources (<see cref="TransferOptions.LanBusyWaitMax"/>).</summary>
    public TimeSpan BusyWaitMax => options.LanBusyWaitMax;

    /// <summary>How many times a late source (see <see cref="Late"/>) is asked for its piece list again before it is dropped.</summary>
    public const int LateListAsks = 4;

    /// <summary>The pause before a late source is asked again; each next pause is twice the last (0.25, 0.5, 1, 2 s: 3.75 s in all).</summary>
    public static readonly TimeSpan LatePause = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The bound on one ask of a late source (a piece list of a few KiB on the LAN): with the pauses, a late source
    /// holds a fetch whose other sources are gone at most 3.75 s + <see cref="LateListAsks"/> × 2 s.
    /// </summary>
    public static readonly TimeSpan LateCheckTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How much longer than its stall or busy bound a fetch waits while late sources are left (their pauses and asks: 11.75 s).</summary>
    public static readonly TimeSpan LateWindow = TimeSpan.FromSeconds(12);

    /// <summary>The <see cref="Flight.Piece"/> of a late source's piece list check.</summary>
    private const int ListCheck = -1;

    /// <summary>The shortest wait of the piece loop when every source left is pausing.</summary>
    private static readonly TimeSpan MinWait = TimeSpan.FromMilliseconds(5);

    /// <summary>Bounds on a 503's Retry-After (missing or 0: the lower bound).</summary>
    public static readonly TimeSpan MinBusyPause = TimeSpan.FromMilliseconds(200), MaxBusyPause = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Fetches the blob of <paramref name="patch"/> (its SHA-256 and size) from <paramref name="sources"/> (best first)
    /// in pieces of the size the server announced, and records it (with that row, added now by this node).
    /// </summary>
    /// <param name="observer">Optional: follows the verified byte count (progress display).</param>
    public async Task<FetchResult> FetchAsync(IReadOnlyList<SwarmSource> sources, int pieceSize, PatchRecord patch, ByteProgress? observer, CancellationToken ct)
    {
        if (store.Contains(patch.Sha256))
        {
            return FetchResult.Success(0);
        }

        var states = sources.Where(s => s.NodeId != self.NodeId).DistinctBy(s => s.BlobUrl.AbsoluteUri).Select(s => new SourceState(s)).ToList();
        var (lists, agreed, fromServer) = await GetPieceListsAsync(states, patch, pieceSize, ct).ConfigureAwait(false);
        if (lists.Count == 0)
        {
            return FetchResult.Failure(0, $"no LAN source served a valid piece list ({Tried(states)})");
        }

        // One list after another (see GetPieceListsAsync), each from its own holders, but only while the holders of
        // the lists tried were all proven wrong or gone (dropped): holders that stayed busy or stalled have had the
        // fetch's whole wait already, and the internet comes next. Pieces are offered to others only when the holders
        // agree on the list (a liar's list is not passed on). Late holders (404 at first) go with each run until one
        // serves its list (then it joins that run, or a later one whose list it serves) or they are dropped; they do
        // not keep the next list from being tried.
        var wire = 0L;
        FetchResult? result = null;
        foreach (var (list, from) in lists)
        {
            foreach (var other in states)
            {
                if (other.Dropped || from.Contains(other))
                {
                    continue;
                }

                if (other.ServedList is { } served && served.Pieces.SequenceEqual(list.Pieces, StringComparer.Ordinal))
                {
                    (other.ServedList, other.Vouched) = (null, true); // it served this list while another was fetched by
                    from.Add(other);
                }
                else if (other.NeedsList && other.ServedList is null)
                {
                    from.Add(other);
                }
            }

            var more = !ReferenceEquals(from, lists[^1].Sources);
            result = await FetchWithAsync(list, from, patch, observer, offer: agreed, authoritative: fromServer, more, ct).ConfigureAwait(false);
            wire += result.Bytes;
            if (result.Ok)
            {
                return result with { Bytes = wire };
            }

            if (!from.TrueForAll(s => s.Dropped || s.NeedsList))
            {
                break;
            }
        }

        return result! with { Bytes = wire };
    }

    /// <summary>The blob in pieces checked against <paramref name="list"/>, from <paramref name="states"/>, committed when the whole matches.</summary>
    /// <param name="authoritative">The list is the server's (computed from a verified copy), not a holder's.</param>
    /// <param name="more">Another list comes after this one: a run whose own holders all failed ends, leaving its late ones to that.</param>
    private async Task<FetchResult> FetchWithAsync(PieceList list, List<SourceState> states, PatchRecord patch, ByteProgress? observer, bool offer, bool authoritative, bool more, CancellationToken ct)
    {
        PieceBlobWriter writer;
        try
        {
            writer = store.BeginPieceWrite(patch.Sha256, patch.Size);
        }
        catch (IOException e)
        {
            return FetchResult.Failure(0, $"could not start the blob: {e.Message}");
        }

        await using (writer.ConfigureAwait(false))
        {
            writer.Patch = patch with { AddedAt = time.GetUtcNow(), AddedBy = self.NodeId, Hits = 0, LastHit = null };
            var partial = offer ? partials.Register(list, writer.TempPath) : null;
            var run = new Run(list, writer, partial, observer) { Authoritative = authoritative, MoreLists = more };
            try
            {
                var failure = await FetchPiecesAsync(states, run, ct).ConfigureAwait(false);
                if (failure is not null)
                {
                    if (!run.HandedBack)
                    {
                        Log.Failed(logger, patch.Sha256, failure);
                    }

                    return FetchResult.Failure(run.WireBytes, failure) with { Busy = run.HandedBack, RetryAfter = run.HandedBack ? MinBusyPause : default };
                }

                var result = await writer.CommitAsync(ct).ConfigureAwait(false);
                if (!result.Succeeded)
                {
                    if (result.Status == BlobWriteStatus.HashMismatch)
                    {
                        // Every piece matched the list and the whole does not match the upstream hash: the list was
                        // wrong, and so were the bytes its vouchers sent for it.
                        foreach (var voucher in states.Where(s => s.Vouched))
                        {
                            Drop(voucher, patch.Sha256, "vouched for a piece list whose pieces do not make the blob", SourceFault.BadBytes);
                        }
                    }

                    Log.Failed(logger, patch.Sha256, result.Message ?? "the whole blob does not match");
                    return FetchResult.Failure(run.WireBytes, $"LAN pieces rejected as a whole: {result.Message}");
                }

                Log.Done(logger, patch.Sha256, list.Pieces.Count, states.Count(s => s.Served > 0), run.WireBytes);
                return FetchResult.Success(run.WireBytes);
            }
            finally
            {
                if (partial is not null)
                {
                    partials.Remove(partial);
                }
            }
        }
    }

    /// <summary>
    /// The piece loop: keeps up to <see cref="TransferOptions.PiecesInFlight"/> pieces in flight, each from the best
    /// ranked usable source with room; handles each attempt's end; in the endgame (nothing pending) asks an idle source
    /// for a piece that has been in flight far longer than pieces took (see <see cref="SwarmFetcher.Endgame"/>).
    /// Null when every piece is verified, else why not.
    /// </summary>
    private async Task<string?> FetchPiecesAsync(List<SourceState> states, Run run, CancellationToken ct)
    {
        var count = run.List.Pieces.Count;
        var pending = PieceOrder(count, random);
        var flights = new List<Flight>();
        var verified = new bool[count];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var done = 0;
        var lastProgress = time.GetTimestamp();
        var toldBusy = false;
        try
        {
            while (done < count)
            {
                ct.ThrowIfCancellationRequested(); // the pass ended: not the sources' fault, nobody is dropped for it
                if (run.MoreLists && !states.Exists(s => !s.Dropped && !s.NeedsList))
                {
                    // Only late holders are left, and another list's holders wait: the late ones go on with that run.
                    return $"every LAN source of this piece list failed ({Tried(states)})";
                }

                var now = time.GetTimestamp();
                foreach (var late in states)
                {
                    if (late.NeedsList && !late.Dropped && late.InFlight == 0 && late.PausedUntil <= now)
                    {
                        flights.Add(Start(late, ListCheck, run, duplicate: false, stop.Token)); // its list check, in flight as a piece is
                    }
                }

                while (PiecesInFlight(flights) < options.PiecesInFlight && pending.Count > 0 && Pick(states, pending, now) is var (source, at))
                {
                    var piece = pending[at];
                    pending.RemoveAt(at);
                    flights.Add(Start(source, piece, run, duplicate: false, stop.Token));
                }

                if (pending.Count == 0)
                {
                    StartEndgame(states, flights, run, now, stop.Token);
                }

                if (flights.Count == 0)
                {
                    if (!states.Any(s => !s.Dropped))
                    {
                        return $"every LAN source failed ({Tried(states)})";
                    }

                    // Every source left is pausing: wait for the first. While one of them answers "busy" (its upload
                    // slots are full: the patch is spreading) that may go on up to LanBusyWaitMax without a verified
                    // piece; pauses after failures only up to the stall bound (repeated failures end in a drop anyway).
                    var wake = states.Where(s => !s.Dropped).Min(s => s.PausedUntil);
                    var busy = states.Count(s => !s.Dropped && s.Busy);
                    var late = states.Count(s => !s.Dropped && s.NeedsList);
                    var waiting = states.Count(s => !s.Dropped && (s.Busy || s.NeedsList)); // a late one has no answer yet either
                    if (done == 0 && busy > 0 && waiting == states.Count(s => !s.Dropped) && options.LanBusyAskAgain > TimeSpan.Zero
                        && now - lastProgress >= Ticks(options.LanBusyAskAgain))
                    {
                        // Nothing from them yet, and all busy: the server may know holders with free slots by now.
                        run.HandedBack = true;
                        Log.AskingAgain(logger, run.List.Sha256, busy, options.LanBusyAskAgain.TotalSeconds);
                        return $"every listed LAN source stayed busy for {options.LanBusyAskAgain.TotalSeconds:0.#} s before a piece ({Tried(states)})";
                    }

                    // A late source's asks are bounded of their own (LateListAsks, LateCheckTimeout): waited for, and
                    // by LateWindow beyond the bound whatever happens.
                    var bound = busy > 0 ? options.LanBusyWaitMax : options.LanStallTimeout;
                    var lateWindow = late > 0 ? LateWindow : TimeSpan.Zero;
                    if (Math.Max(wake, now) > lastProgress + Ticks(bound + lateWindow))
                    {
                        var waited = late > 0 ? $" and the late holders' {lateWindow.TotalSeconds:0} s" : string.Empty;
                        return busy > 0
                            ? $"the LAN sources stayed busy for {bound.TotalSeconds:0.#} s{waited} ({Tried(states)})"
                            : $"no LAN source served a piece within the stall bound of {bound.TotalSeconds:0.#} s{waited}: {(late > 0 ? "not ready yet or pausing after failures" : "pausing after failures")} ({Tried(states)})";
                    }

                    if (busy > 0 && !toldBusy)
                    {
                        toldBusy = true;
                        Log.WaitingForBusy(logger, run.List.Sha256, busy, options.LanBusyWaitMax.TotalSeconds);
                    }

                    // At least MinWait: a source due already but not started (a state this loop does not expect) costs a
                    // timer per MinWait, never a spin.
                    await Task.Delay(TimeSpan.FromSeconds((double)Math.Max(wake - now, Ticks(MinWait)) / time.TimestampFrequency), time, ct).ConfigureAwait(false);
                    continue;
                }

                // Ticks in the endgame, while only list checks are in flight (a paused source may be due meanwhile), and
                // while a late source waits for its next ask (due within LatePause's schedule, not when a piece ends).
                var tick = pending.Count == 0 || PiecesInFlight(flights) == 0 || states.Exists(s => s.NeedsList && !s.Dropped && s.InFlight == 0);
                if (await NextAsync(flights, tick, ct).ConfigureAwait(false) is not { } flight)
                {
                    continue; // the tick: look at the pieces in flight and the sources again
                }

                flights.Remove(flight);
                flight.Dispose();
                var attempt = await flight.Task.ConfigureAwait(false);
                var from = attempt.Source;
                from.InFlight--;
                if (flight.Cancelled)
                {
                    continue; // the other copy of its piece was kept: not this source's fault
                }

                if (flight.Piece == ListCheck)
                {
                    if (Rejoined(from, attempt, run))
                    {
                        lastProgress = time.GetTimestamp();
                    }
                    else if (from.ServedList is not null)
                    {
                        states.Remove(from); // another holder list's source: the next run's, if that list is tried
                    }

                    continue;
                }

                from.Busy = attempt.Kind == AttemptKind.Busy;
                if (attempt.Kind != AttemptKind.Busy)
                {
                    lastProgress = time.GetTimestamp(); // only "busy" can go on for ever: other failures end in a drop
                }

                switch (attempt.Kind)
                {
                    case AttemptKind.Verified:
                        if (await KeepAsync(flights, flight, attempt, run, ct).ConfigureAwait(false) is { } diskFailure)
                        {
                            return diskFailure;
                        }

                        // A piece with no bitfield came from a whole copy (a holder that was receiving may have committed).
                        (from.Held, from.HeldUntil) = (attempt.Held, attempt.Held is null ? 0 : time.GetTimestamp() + Ticks(MinBusyPause));
                        if (from.Held is { } held)
                        {
                            held[attempt.Piece] = true; // it had it, whatever its bitfield said
                        }

                        verified[attempt.Piece] = true;
                        done++;
                        from.Served++;
                        from.Failures = 0;
                        run.PieceTook(time.GetTimestamp() - flight.Started);
                        run.Partial?.MarkVerified(attempt.Piece);
                        run.Verified(PieceLength(run.List, attempt.Piece));
                        continue;
                    case AttemptKind.DiskFailed:
                        return attempt.Detail;
                    case AttemptKind.BadPiece:
                        stats.BadPiece();
                        Log.BadPiece(logger, from.Source.NodeId, from.Source.BlobUrl.Authority, run.List.Sha256, attempt.Piece, attempt.Detail);
                        Drop(from, run.List.Sha256, attempt.Detail, SourceFault.BadBytes);
                        break;
                    case AttemptKind.Gone when !from.Vouched && from.Served == 0 && from.Held is null && from.ListAsks == 0 && !from.Source.IsServer:
                        // Listed by the server (whose list this is) and never heard from: it may be a holder handed the
                        // blob a moment ago whose fetch has not begun. Asked for its list until it has one, or dropped.
                        from.LastError = attempt.Detail;
                        Late(from, time.GetTimestamp());
                        break;
                    case AttemptKind.Gone:
                        Drop(from, run.List.Sha256, attempt.Detail, SourceFault.Gone);
                        break;
                    case AttemptKind.Busy:
                        from.PausedUntil = time.GetTimestamp() + Ticks(attempt.RetryAfter);
                        if (attempt.Held is { } has)
                        {
                            // It lacks this piece but said which it has: no pause while one of those is still wanted.
                            // Not when it had said it has this one (a holder never loses a verified piece): a source
                            // that keeps claiming pieces it refuses is asked once per Retry-After, as any busy one.
                            var claimed = from.Held?[attempt.Piece] == true;
                            (from.Held, from.HeldUntil) = (has, from.PausedUntil);
                            if (!claimed && pending.Exists(p => has[p]))
                            {
                                from.PausedUntil = time.GetTimestamp();
                            }
                        }

                        break;
                    default:
                        from.LastError = attempt.Detail;
                        if (++from.Failures >= MaxSourceFailures)
                        {
                            Drop(from, run.List.Sha256, attempt.Detail);
                        }
                        else
                        {
                            Log.PieceFailed(logger, from.Source.NodeId, run.List.Sha256, attempt.Piece, attempt.Detail);
                            from.PausedUntil = time.GetTimestamp() + Ticks(FailurePause);
                        }

                        break;
                }

                if (!verified[attempt.Piece] && !flights.Exists(f => f.Piece == attempt.Piece))
                {
                    pending.Insert(0, attempt.Piece); // not verified and no other copy coming: fetched again, first
                }
            }

            return null;
        }
        finally
        {
            // Nothing writes into the temp file after this returns: stop the attempts still running and wait for them.
            // Their sources' counts are given back: a late source goes on to the next list's run, if one is tried.
            await stop.CancelAsync().ConfigureAwait(false);
            foreach (var flight in flights)
            {
                await flight.Task.ConfigureAwait(false);
                flight.Source.InFlight--;
                flight.Dispose();
            }
        }
    }

    /// <summary>
    /// The best ranked usable source with a pending piece to ask it for (<see cref="Choose"/>), and that piece's index
    /// in <paramref name="pending"/>. A source whose fresh bitfield holds no pending piece is left alone until its
    /// bitfield is stale (then it is asked again, and answers with a new one).
    /// </summary>
    private (SourceState Source, int At)? Pick(List<SourceState> states, List<int> pending, long now)
    {
        foreach (var s in states)
        {
            if (!Usable(s, now))
            {
                continue;
            }

            if (Choose(pending, s, states, now) is { } at)
            {
                return (s, at);
            }

            s.PausedUntil = s.HeldUntil; // nothing for it now: the piece loop's wait must not spin on it
        }

        return null;
    }

    /// <summary>
    /// The best ranked usable source other than <paramref name="except"/> that holds <paramref name="piece"/>, or may: no
    /// bitfield, or a stale one (it may have the piece by now).
    /// </summary>
    private SourceState? PickFor(List<SourceState> states, int piece, long now, SourceState except) =>
        states.Find(s => s != except && Usable(s, now) && (s.Held is null || s.Held[piece] || now >= s.HeldUntil));

    private bool Usable(SourceState s, long now) => !s.Dropped && !s.NeedsList && s.PausedUntil <= now && s.InFlight < options.PiecesPerSource;

    /// <summary>
    /// The index in <paramref name="pending"/> (this fetch's random order) of the piece to ask <paramref name="source"/>
    /// for: a holder that sent its bitfield, the first pending piece it has (none while the bitfield is fresh: null);
    /// a holder of the whole blob, the first pending piece the fewest other holders still receiving have (the pieces
    /// only a whole copy can give now), among the first <see cref="RarestScan"/> pending (already a random sample), so a
    /// pick stays cheap for a blob of thousands of pieces.
    /// </summary>
    private static int? Choose(List<int> pending, SourceState source, List<SourceState> states, long now)
    {
        if (source.Held is { } held)
        {
            var first = pending.FindIndex(p => held[p]);
            return first >= 0 ? first : now < source.HeldUntil ? null : 0;
        }

        var (best, fewest) = (0, int.MaxValue);
        for (var i = 0; i < pending.Count && i < RarestScan && fewest > 0; i++)
        {
            var holders = 0;
            foreach (var other in states)
            {
                if (other != source && !other.Dropped && other.Held is { } h && h[pending[i]])
                {
                    holders++;
                }
            }

            if (holders < fewest)
            {
                (best, fewest) = (i, holders);
            }
        }

        return best;
    }

    /// <summary>The pieces 0 .. <paramref name="count"/> - 1 in a random order (Fisher-Yates).</summary>
    internal static List<int> PieceOrder(int count, IRandomSource random)
    {
        var order = Enumerable.Range(0, count).ToList();
        for (var i = count - 1; i > 0; i--)
        {
            var j = Math.Min(i, (int)(random.NextDouble() * (i + 1)));
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    /// <summary>
    /// Makes <paramref name="source"/> late: it answered 404/410 before it served anything. The server lists as holders
    /// nodes it has just handed the blob, and such a node answers 404 until its own fetch has a piece list; from then it
    /// serves that list and the pieces it has verified (serve while receiving). So a late source is not dropped at once:
    /// it is asked for its piece list again after <see cref="LatePause"/>, each pause twice the last, up to
    /// <see cref="LateListAsks"/> times (<see cref="Rejoined"/>), and fetched from once it serves this run's list.
    /// </summary>
    private void Late(SourceState source, long now)
    {
        source.NeedsList = true;
        source.PausedUntil = now + Ticks(LatePause * (1 << Math.Min(source.ListAsks, LateListAsks)));
    }

    /// <summary>
    /// A late source's answer to its piece list check. It joins the run when it serves the run's list: a holder list's
    /// run, as one more of the holders that vouch for it; the server's, as a holder (the server vouches). Another list
    /// drops it when the run's list is the server's (computed from a verified copy); against a holder's list it only
    /// leaves the run (<see cref="SourceState.ServedList"/>: one holder's word is not enough to blame another). A bad
    /// list drops it, and so does a 404 or a failure on its last ask. True when it joined.
    /// </summary>
    private bool Rejoined(SourceState source, Attempt attempt, Run run)
    {
        source.ListAsks++;
        switch (attempt.Kind)
        {
            case AttemptKind.ListServed when attempt.List!.Pieces.SequenceEqual(run.List.Pieces, StringComparer.Ordinal):
                (source.NeedsList, source.Vouched, source.LastError) = (false, !run.Authoritative, null);
                Log.Rejoined(logger, source.Source.NodeId, run.List.Sha256, source.ListAsks);
                return true;
            case AttemptKind.ListServed when run.Authoritative:
                // The server's list is the verified blob's: another is wrong, its own or one it follows while receiving.
                Drop(source, run.List.Sha256, "serves a piece list other than the server's", SourceFault.BadBytes);
                return false;
            case AttemptKind.ListServed:
                (source.NeedsList, source.ServedList, source.LastError) = (false, attempt.List, "serves another holder's piece list");
                Log.LeftForAnotherList(logger, source.Source.NodeId, run.List.Sha256);
                return false;
            case AttemptKind.BadList:
                Drop(source, run.List.Sha256, attempt.Detail, SourceFault.BadBytes);
                return false;
            default:
                source.LastError = attempt.Detail;
                if (source.ListAsks >= LateListAsks)
                {
                    Drop(source, run.List.Sha256, $"{attempt.Detail}, still after {source.ListAsks} asks", attempt.Kind == AttemptKind.Gone ? SourceFault.Gone : null);
                }
                else
                {
                    Late(source, time.GetTimestamp());
                }

                return false;
        }
    }

    private static int PiecesInFlight(List<Flight> flights)
    {
        var n = 0;
        foreach (var flight in flights)
        {
            if (flight.Piece != ListCheck)
            {
                n++;
            }
        }

        return n;
    }

    /// <param name="fault">
    /// Set when the drop is proof that the source is wrong for this blob (<see cref="SourceFault.BadBytes"/>,
    /// <see cref="SourceFault.Gone"/>): it is reported to the server (<see cref="ISourceFaults"/>), unless it is the server.
    /// </param>
    private void Drop(SourceState source, string sha256, string why, string? fault = null)
    {
        if (source.Dropped)
        {
            return; // another of its pieces in flight ended after the first drop: counted and logged once
        }

        source.Dropped = true;
        source.LastError = why;
        stats.SourceDropped();
        Log.Dropped(logger, source.Source.NodeId, source.Source.BlobUrl.Authority, sha256, why);
        if (fault is not null && !source.Source.IsServer)
        {
            faults?.Report(sha256, source.Source.NodeId, fault);
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private static int PieceLength(PieceList list, int piece) => (int)Math.Min(list.PieceSize, list.Size - ((long)piece * list.PieceSize));

    private static string Tried(List<SourceState> states) =>
        states.Count == 0 ? "none listed" : string.Join("; ", states.Select(s => $"{s.Source.NodeId}: {s.LastError ?? (s.Dropped ? "dropped" : "no answer")}"));

    /// <summary>One source's standing during one fetch (touched only by the piece loop).</summary>
    private sealed class SourceState(SwarmSource source)
    {
        public SwarmSource Source { get; } = source;

        public bool Dropped { get; set; }

        public int InFlight { get; set; }

        public int Failures { get; set; }

        public int Served { get; set; }

        public long PausedUntil { get; set; }

        /// <summary>Its last answer was 503 (busy).</summary>
        public bool Busy { get; set; }

        /// <summary>The pieces it last said it has (a holder still receiving), or null (a whole copy, or it never said).</summary>
        public bool[]? Held { get; set; }

        /// <summary>Until when (timestamp ticks) <see cref="Held"/> is taken as it stands; after that it is asked again.</summary>
        public long HeldUntil { get; set; }

        public string? LastError { get; set; }

        /// <summary>It served the piece list of the current run: its bad pieces are its own, and a wrong list is too.</summary>
        public bool Vouched { get; set; }

        /// <summary>Late (<see cref="Late"/>): asked for its piece list, not for pieces, until it serves the run's list.</summary>
        public bool NeedsList { get; set; }

        /// <summary>How many times it was asked for its piece list again while late (a source is late once per fetch).</summary>
        public int ListAsks { get; set; }

        /// <summary>The list a late source served that another holder list's run was not fetching by (it left that run).</summary>
        public PieceList? ServedList { get; set; }
    }

    /// <summary>One fetch: its list, its file, its offer to others and its byte counts.</summary>
    private sealed class Run(PieceList list, PieceBlobWriter writer, PartialBlob? partial, ByteProgress? observer)
    {
        private long _wireBytes;
        private long _verifiedBytes;

        public PieceList List { get; } = list;

        public PieceBlobWriter Writer { get; } = writer;

        public PartialBlob? Partial { get; } = partial;

        /// <summary>Ended because every listed source stayed busy before a piece (<see cref="TransferOptions.LanBusyAskAgain"/>).</summary>
        public bool HandedBack { get; set; }

        /// <summary>The list is the server's: a late source serving another is lying, not merely on another holder's side.</summary>
        public bool Authoritative { get; init; }

        /// <summary>Another holder list comes after this one (see <see cref="FetchAsync"/>).</summary>
        public bool MoreLists { get; init; }

        public long WireBytes => Interlocked.Read(ref _wireBytes);

        /// <summary>Pieces verified so far and the timestamp ticks they took in all (the endgame's yardstick).</summary>
        public int TimedPieces { get; private set; }

        public long PieceTicks { get; private set; }

        public void PieceTook(long ticks) => (TimedPieces, PieceTicks) = (TimedPieces + 1, PieceTicks + ticks);

        public void Received(long n) => Interlocked.Add(ref _wireBytes, n);

        public void Verified(long n)
        {
            _verifiedBytes += n;
            observer?.Report(_verifiedBytes);
        }
    }

    private enum AttemptKind
    {
        Verified,
        BadPiece,
        Gone,
        Busy,
        Failed,
        DiskFailed,

        /// <summary>A late source's piece list check brought a valid list (<see cref="Attempt.List"/>).</summary>
        ListServed,

        /// <summary>A late source's piece list check brought a list that does not fit the blob.</summary>
        BadList,
    }

    /// <summary>How one piece from one source ended.</summary>
    [DebuggerDisplay("{Kind} piece {Piece}")]
    /// <param name="Kept">An endgame copy's verified bytes, kept in memory until the other copy has ended.</param>
    /// <param name="Held">The pieces the source said it has (<see cref="ApiHeaders.PiecesHeld"/>), if it said.</param>
    /// <param name="List">The piece list a late source served (<see cref="AttemptKind.ListServed"/>).</param>
    private sealed record Attempt(SourceState Source, int Piece, AttemptKind Kind, string Detail, TimeSpan RetryAfter = default, byte[]? Kept = null, bool[]? Held = null, PieceList? List = null);
}
