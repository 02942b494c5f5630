namespace PeerPatch.Node.Transfer;

/// <summary>
/// The endgame of <see cref="SwarmFetcher"/>: when no piece is pending, a piece that has been in flight on one source
/// for <see cref="EndgameFactor"/> times as long as the verified pieces took on average (at least
/// <see cref="EndgameMinAge"/>; <see cref="TransferOptions.LanStallTimeout"/> before any piece was verified) is asked
/// of another idle source too. The second copy is kept in memory (the first one writes into the temp file); the first
/// verified copy is kept and the other cancelled, so one slow holder cannot hold the last pieces of a blob.
/// </summary>
internal sealed partial class SwarmFetcher
{
    /// <summary>How many times the mean piece time a piece may be in flight before another source is asked too.</summary>
    public const int EndgameFactor = 4;

    /// <summary>The shortest time in flight after which a piece is asked of another source too.</summary>
    public static readonly TimeSpan EndgameMinAge = TimeSpan.FromSeconds(1);

    /// <summary>How often the piece loop looks at the pieces in flight while it is in the endgame.</summary>
    private static readonly TimeSpan EndgameTick = TimeSpan.FromMilliseconds(250);

    private Flight Start(SourceState source, int piece, Run run, bool duplicate, CancellationToken stop)
    {
        source.InFlight++;
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var task = piece == ListCheck ? CheckListAsync(source, run, cancel.Token) : FetchPieceAsync(source, piece, run, duplicate, cancel.Token);
        return new Flight(source, piece, duplicate, time.GetTimestamp(), cancel, task);
    }

    /// <summary>Asks an idle source for each piece that has been in flight too long on one source alone.</summary>
    private void StartEndgame(List<SourceState> states, List<Flight> flights, Run run, long now, CancellationToken stop)
    {
        var age = run.TimedPieces == 0
            ? Ticks(options.LanStallTimeout)
            : Math.Max(Ticks(EndgameMinAge), EndgameFactor * (run.PieceTicks / run.TimedPieces));
        for (var i = 0; i < flights.Count && PiecesInFlight(flights) < options.PiecesInFlight; i++)
        {
            var slow = flights[i];
            if (slow.Piece == ListCheck || slow.Duplicate || slow.Cancelled || now - slow.Started < age || flights.Exists(f => f != slow && f.Piece == slow.Piece))
            {
                continue;
            }

            if (PickFor(states, slow.Piece, now, slow.Source) is not { } other)
            {
                continue; // nobody idle has this piece: the next slow one may have a holder
            }

            Log.Endgame(logger, run.List.Sha256, slow.Piece, slow.Source.Source.NodeId, other.Source.NodeId);
            flights.Add(Start(other, slow.Piece, run, duplicate: true, stop));
        }
    }

    /// <summary>
    /// The first flight to end; with <paramref name="tick"/> (the endgame, or a piece loop that must look again soon)
    /// null after <see cref="EndgameTick"/> when none did.
    /// </summary>
    private static async Task<Flight?> NextAsync(List<Flight> flights, bool tick, CancellationToken ct)
    {
        var first = Task.WhenAny(flights.Select(f => f.Task));
        if (!tick)
        {
            var ended = await first.ConfigureAwait(false); // each attempt is bounded (see FetchPieceAsync)
            return flights.Find(f => f.Task == ended);
        }

        try
        {
            var next = await first.WaitAsync(EndgameTick, ct).ConfigureAwait(false);
            return flights.Find(f => f.Task == next);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// Keeps a verified copy: the other copies of its piece are cancelled; a copy held in memory is written only once
    /// the copy writing into the file has ended. Null, or why the disk refused it.
    /// </summary>
    private async Task<string?> KeepAsync(List<Flight> flights, Flight kept, Attempt attempt, Run run, CancellationToken ct)
    {
        var others = flights.FindAll(f => f.Piece == kept.Piece);
        foreach (var other in others)
        {
            other.Cancel();
        }

        if (attempt.Kept is null)
        {
            return null; // the others write nowhere: they end in their own time
        }

        foreach (var other in others)
        {
            await other.Task.ConfigureAwait(false); // a cancelled attempt ends at its next read
            flights.Remove(other);
            other.Source.InFlight--;
            other.Dispose();
        }

        try
        {
            await run.Writer.WriteAtAsync((long)kept.Piece * run.List.PieceSize, attempt.Kept, ct).ConfigureAwait(false);
            return null;
        }
        catch (IOException e)
        {
            return $"writing the blob failed: {e.Message}";
        }
    }

    /// <summary>One attempt at one piece from one source, with its own cancellation.</summary>
    private sealed class Flight(SourceState source, int piece, bool duplicate, long started, CancellationTokenSource cancel, Task<Attempt> task) : IDisposable
    {
        public SourceState Source { get; } = source;

        public int Piece { get; } = piece;

        /// <summary>An endgame copy: its bytes stay in memory until it is kept.</summary>
        public bool Duplicate { get; } = duplicate;

        public long Started { get; } = started;

        public Task<Attempt> Task { get; } = task;

        /// <summary>Cancelled because another copy of its piece was kept: its end is nobody's fault.</summary>
        public bool Cancelled { get; private set; }

        public void Cancel()
        {
            Cancelled = true;
            cancel.Cancel();
        }

        public void Dispose() => cancel.Dispose();
    }
}
