namespace PeerPatch.Node.Updating;

/// <summary>
/// One patch's wait on another node's claim: its deadline (<see cref="Hosting.NodeOptions.ClaimWaitMax"/> after the
/// first lookup), when the current wait began, and how many cut-through streams broke off. Times are monotonic
/// (<see cref="Hosting.MonotonicTime"/>) and passed in; <see cref="ObtainPolicy"/> reads it, the pipeline's loop moves it.
/// </summary>
internal sealed class ClaimWait(DateTimeOffset started, TimeSpan max)
{
    public TimeSpan Max => max;

    /// <summary>When the current wait began, or null while not waiting.</summary>
    public DateTimeOffset? Since { get; private set; }

    public int StreamFailures { get; private set; }

    public bool Waiting => Since is not null;

    /// <summary>Cut-through is tried until <see cref="ObtainPolicy.MaxStreamFailures"/> streams broke off.</summary>
    public bool MayStream => StreamFailures < ObtainPolicy.MaxStreamFailures;

    /// <summary>Until when the server said it is busy (503 to a stream): no stream is asked of it before then.</summary>
    public DateTimeOffset BusyUntil { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>May stream now: streams left, and the server's busy pause (<see cref="ServerBusy"/>) over.</summary>
    public bool MayStreamAt(DateTimeOffset now) => MayStream && now >= BusyUntil;

    /// <summary>The server answered a stream with 503 and <paramref name="retryAfter"/>: the lookups go on, the stream waits.</summary>
    public void ServerBusy(DateTimeOffset now, TimeSpan retryAfter) => BusyUntil = now + retryAfter;

    /// <summary>True once <see cref="Max"/> has passed since the first lookup: stop waiting.</summary>
    public bool Expired(DateTimeOffset now) => now > started + max;

    /// <summary>Starts the wait clock; true when this call started it (a new wait, to be counted).</summary>
    public bool Begin(DateTimeOffset now)
    {
        if (Since is not null)
        {
            return false;
        }

        Since = now;
        return true;
    }

    /// <summary>How long the current wait has lasted (zero while not waiting).</summary>
    public TimeSpan Waited(DateTimeOffset now) => Since is { } since ? now - since : TimeSpan.Zero;

    /// <summary>Ends the current wait: how long it lasted, or null when there was none.</summary>
    public TimeSpan? End(DateTimeOffset now)
    {
        var waited = Since is { } since ? now - since : (TimeSpan?)null;
        Since = null;
        return waited;
    }

    /// <summary>Counts a cut-through stream that broke off; the count so far.</summary>
    public int StreamFailed() => ++StreamFailures;
}
