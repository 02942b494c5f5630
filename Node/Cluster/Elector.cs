namespace PeerPatch.Node.Cluster;

/// <summary>
/// Server election: the bully algorithm with terms, without pre-emption. Pure policy: no I/O, time comes in as
/// <c>now</c>, and the caller acts on <see cref="Decision"/>s.
/// <list type="bullet">
/// <item>A node that follows a server and hears its heartbeats keeps it, whatever joins later (no churn).</item>
/// <item>A node with no server (start-up after <see cref="ElectionTiming.DiscoveryWindow"/>, or its server silent
/// for the <see cref="AdaptiveTimeout"/> learnt from its heartbeats: <see cref="ElectionTiming.HeartbeatTimeout"/> on a
/// quiet LAN, up to <see cref="ElectionTiming.MaxHeartbeatTimeout"/> on a loaded one) follows a live advertised server
/// if there is one; otherwise the highest-ranked live member (<see cref="MemberRank"/>) is expected to take over:
/// itself, with term = highest term seen + 1, or another node, which is passed over if it has not claimed within
/// <see cref="ElectionTiming.ClaimTimeout"/>.</item>
/// <item>Two servers (a healed split): the higher term wins, then the higher rank; the loser steps down and
/// follows the winner. A heartbeat from a better server switches any node to it.</item>
/// <item>Terms pass <see cref="TermGuard"/>: an invalid term, or one too far above this node's, does not count (its
/// node still ranks, as a candidate that claims nothing), and a new term never overflows.</item>
/// <item>Timeouts (discovery, heartbeats, claims) count only the time this node was running (<see cref="RunningClock"/>):
/// a node starved of CPU for seconds does not depose a server it could not listen to.</item>
/// </list>
/// </summary>
internal sealed class Elector
{
    private readonly ElectionTiming _timing;
    private readonly RunningClock _clock;
    private readonly AdaptiveTimeout _timeout;
    private readonly Dictionary<string, DateTimeOffset> _suspects = new(StringComparer.Ordinal);
    private readonly TermGuard _guard = new();
    private Dictionary<string, Member> _members = new(StringComparer.Ordinal);
    private List<Member> _reported = [];
    private TimeSpan _lastHeartbeat; // running time, as every field below
    private TimeSpan? _lastBeat; // the followed server's last accepted heartbeat (null: none since following it)
    private (string NodeId, TimeSpan Since)? _awaiting;

    public Elector(string selfId, int priority, long since, long term, ElectionTiming timing, DateTimeOffset now)
    {
        SelfId = selfId;
        Self = (priority, since, selfId);
        Term = TermGuard.IsValid(term) ? term : 0;
        _timing = timing;
        _clock = new RunningClock(timing.MaxCountedGap, now);
        _timeout = new AdaptiveTimeout(timing.HeartbeatTimeout, timing.MaxHeartbeatTimeout);
    }

    public string SelfId { get; }

    public (int Priority, long Since, string NodeId) Self { get; }

    /// <summary>The highest term this node knows (persist it when it changes).</summary>
    public long Term { get; private set; }

    /// <summary>The node followed as server: this node's id when it is the server; null during an election.</summary>
    public string? ServerId { get; private set; }

    public bool IsServer => ServerId == SelfId;

    /// <summary>The members last reported by discovery (self excluded).</summary>
    public IReadOnlyCollection<Member> Members => _members.Values;

    /// <summary>How the followed server's heartbeats arrive, and how long it may be silent (reset when the server changes): a copy.</summary>
    public HeartbeatTimeoutSnapshot ServerTimeout => _timeout.Snapshot();

    /// <summary>The time this node was running, on which every election timeout is measured: a copy.</summary>
    public RunningClockSnapshot Clock => _clock.Snapshot();

    /// <summary>Discovery's current view of the other nodes.</summary>
    public Decision OnMembers(IEnumerable<Member> members, DateTimeOffset now)
    {
        _clock.Observe(now);
        _reported = members.Where(m => m.NodeId != SelfId).ToList();
        Refresh(now);
        foreach (var m in _members.Values.Where(m => m.IsServer))
        {
            // An advertised server better than ours (e.g. the other side of a healed split) wins at once.
            var better = ServerId is null ? m.Term >= Term : MemberRank.Beats(m.Term, Rank(m), Term, CurrentRank());
            if (better && !IsSuspect(m.NodeId, now) && m.NodeId != ServerId)
            {
                return Follow(m.NodeId, m.Term, now);
            }
        }

        return Tick(now);
    }

    /// <summary>A heartbeat from a server.</summary>
    public Decision OnHeartbeat(string serverId, long term, int priority, long since, DateTimeOffset now)
    {
        var at = _clock.Observe(now);
        if (!_guard.Accepts(serverId, term, Term, now))
        {
            return Decision.None; // a forged or corrupt term: not a server worth hearing, nor a gap worth learning
        }

        _suspects.Remove(serverId);
        if (serverId == ServerId)
        {
            if (_lastBeat is { } previous && !IsServer)
            {
                _timeout.Add(at - previous);
            }

            _lastBeat = at;
            _lastHeartbeat = at;
            Term = Math.Max(Term, term);
            return Decision.None;
        }

        if (ServerId is null || MemberRank.Beats(term, (priority, since, serverId), Term, CurrentRank()))
        {
            var decision = Follow(serverId, term, now);
            _lastBeat = at; // the gap to its next heartbeat counts
            return decision;
        }

        return Decision.None; // a worse server: it will hear our server's heartbeats and step down
    }

    /// <summary>Time passes.</summary>
    public Decision Tick(DateTimeOffset now)
    {
        var at = _clock.Observe(now);
        Refresh(now);
        foreach (var expired in _suspects.Where(s => s.Value <= now).Select(s => s.Key).ToList())
        {
            _suspects.Remove(expired);
        }

        if (IsServer)
        {
            return Decision.None;
        }

        if (ServerId is not null)
        {
            if (at - _lastHeartbeat < _timeout.Timeout)
            {
                return Decision.None;
            }

            Suspect(ServerId, now);
            ServerId = null;
            _awaiting = null;
            Forget();
        }

        if (at < _timing.DiscoveryWindow)
        {
            return Decision.None;
        }

        var liveServer = _members.Values.Where(m => m.IsServer && m.Term >= Term && !IsSuspect(m.NodeId, now))
            .OrderByDescending(m => m.Term).ThenBy(Rank, MemberRank.Instance).FirstOrDefault();
        if (liveServer is not null)
        {
            return Follow(liveServer.NodeId, liveServer.Term, now);
        }

        var best = _members.Values.Where(m => !IsSuspect(m.NodeId, now)).Select(Rank).Append(Self).Min(MemberRank.Instance);
        if (best.NodeId == SelfId)
        {
            Term = TermGuard.Next(Math.Max(Term, _members.Values.Select(m => m.Term).DefaultIfEmpty(0).Max()));
            ServerId = SelfId;
            _awaiting = null;
            Forget();
            return Decision.BecomeServer(Term);
        }

        if (_awaiting?.NodeId != best.NodeId)
        {
            _awaiting = (best.NodeId, at);
        }
        else if (at - _awaiting.Value.Since >= _timing.ClaimTimeout)
        {
            Suspect(best.NodeId, now); // it should have taken over by now: pass it over
            _awaiting = null;
            return Tick(now);
        }

        return Decision.None;
    }

    private Decision Follow(string serverId, long term, DateTimeOffset now)
    {
        var wasServer = IsServer;
        ServerId = serverId;
        Term = Math.Max(Term, term);
        _lastHeartbeat = _clock.Observe(now);
        _awaiting = null;
        Forget();
        return Decision.FollowServer(serverId, Term, stepDown: wasServer);
    }

    /// <summary>Another server (or none): what was learnt about the last one's heartbeats does not apply.</summary>
    private void Forget()
    {
        _lastBeat = null;
        _timeout.Reset();
    }

    /// <summary>The members as the election sees them: a term the guard refuses claims nothing (neither server nor term).</summary>
    private void Refresh(DateTimeOffset now)
    {
        var members = new Dictionary<string, Member>(StringComparer.Ordinal);
        foreach (var m in _reported)
        {
            if (!members.ContainsKey(m.NodeId))
            {
                members[m.NodeId] = _guard.Accepts(m.NodeId, m.Term, Term, now) ? m : m with { IsServer = false, Term = 0 };
            }
        }

        _members = members;
    }

    private (int, long, string) CurrentRank() =>
        IsServer ? Self : ServerId is not null && _members.TryGetValue(ServerId, out var m) ? Rank(m) : (int.MinValue, long.MaxValue, "~");

    private static (int Priority, long Since, string NodeId) Rank(Member m) => (m.Priority, m.Since, m.NodeId);

    private void Suspect(string nodeId, DateTimeOffset now) => _suspects[nodeId] = now + _timing.SuspectFor;

    private bool IsSuspect(string nodeId, DateTimeOffset now) => _suspects.TryGetValue(nodeId, out var until) && until > now;
}
