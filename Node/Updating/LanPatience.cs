using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;

namespace PeerPatch.Node.Updating;

/// <summary>
/// The grace a LAN server that stopped answering gets before patches go to the internet
/// (<see cref="UpdatingOptions.LanPatience"/>). A busy server, or an election under way, leaves a node without an
/// answer for a few seconds; going to the internet at once turned that into one internet download per patch asked
/// for meanwhile (seen at 50 PCs on 2 cores: a new server slow to greet 49 nodes at once). The grace is counted
/// from the first unanswered request of an outage, for the whole node: one outage delays a pass by at most the
/// patience, and everything asked for after that goes to the internet at once, as before. The next answer ends it,
/// and so does <see cref="ForgetAfter"/> with nothing unanswered (the next pass, hours later, meets a new outage, not
/// the old one; a pass's own long downloads between two unanswered lookups do not renew the patience).
/// </summary>
internal sealed class LanPatience(TimeSpan patience, IServerChannelProvider servers, TimeProvider time)
{
    /// <summary>A patient patch asks again at least this often (sooner when the cluster's view changes).</summary>
    internal static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    /// <summary>An outage with no unanswered request for this long is over.</summary>
    internal static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(15);

    private readonly Lock _lock = new();
    private DateTimeOffset? _since;
    private DateTimeOffset _last;

    /// <summary>A server answered: any outage is over.</summary>
    public void Answered()
    {
        lock (_lock)
        {
            _since = null;
        }
    }

    /// <summary>
    /// The server did not answer. Null: the outage is older than the patience, go to the internet now. Otherwise how
    /// much of the patience is left, after waiting up to <see cref="Poll"/> (less when the cluster's view changes):
    /// ask again.
    /// </summary>
    public async Task<TimeSpan?> WaitAsync(CancellationToken ct)
    {
        var now = time.MonotonicNow();
        DateTimeOffset giveUpAt;
        lock (_lock)
        {
            if (_since is not null && now - _last > ForgetAfter)
            {
                _since = null; // nothing went unanswered for a long while: that outage is not this one
            }

            _since ??= now;
            _last = now;
            giveUpAt = _since.Value + patience;
        }

        var left = giveUpAt - now;
        if (left <= TimeSpan.Zero)
        {
            return null;
        }

        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChange() => changed.TrySetResult();
        servers.ServerMayHaveChanged += OnChange;
        try
        {
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
            await Task.WhenAny(Task.Delay(left < Poll ? left : Poll, time, poll.Token), changed.Task).ConfigureAwait(false);
            await poll.CancelAsync().ConfigureAwait(false);
        }
        finally
        {
            servers.ServerMayHaveChanged -= OnChange;
        }

        ct.ThrowIfCancellationRequested();
        return left;
    }
}
