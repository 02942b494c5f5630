using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Serving;

/// <summary>
/// The server's table of which nodes hold which blob, for the sources of a lookup hit: confirmed holders (from
/// inventory reports, which each node sends at start and after every blob it stores) and likely ones (a node that was
/// handed a hit for the blob: it serves the pieces it has verified while it receives, and answers 503 for the others).
/// Ranking (<see cref="Rank"/>) is pure: least recently handed out first (a decaying count), a random tie-break,
/// holders that recently failed skipped. Every table is bounded. Thread-safe (one lock; lookups are short).
/// </summary>
internal sealed class SourceTable
{
    /// <summary>Most blobs with holders remembered.</summary>
    public const int MaxBlobs = 20_000;

    /// <summary>Most holders remembered per blob (a lookup lists at most <see cref="Protocol.ProtocolLimits.MaxSources"/>).</summary>
    public const int MaxHoldersPerBlob = 32;

    /// <summary>Most nodes whose address, load and failures are remembered.</summary>
    public const int MaxNodes = 4096;

    /// <summary>A likely holder that has not confirmed by inventory within this time is forgotten.</summary>
    public static readonly TimeSpan LikelyLifetime = TimeSpan.FromMinutes(10);

    /// <summary>A holder reported failing is skipped for this long.</summary>
    public static readonly TimeSpan FailurePenalty = TimeSpan.FromSeconds(60);

    /// <summary>How long a first report that a holder proved wrong for a blob waits for a second (<see cref="ReportFault"/>).</summary>
    public static readonly TimeSpan StrikeWindow = TimeSpan.FromMinutes(10);

    /// <summary>Most first reports remembered.</summary>
    public const int MaxStrikes = 4096;

    /// <summary>How fast a node's hand-out count fades: the count of a minute ago weighs e^-2.</summary>
    public static readonly TimeSpan LoadHalfLife = TimeSpan.FromSeconds(20);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Holder>> _bySha = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeState> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Sha256, string Accused), (string Reporter, DateTimeOffset At)> _strikes = [];

    public int BlobCount
    {
        get
        {
            lock (_lock)
            {
                return _bySha.Count;
            }
        }
    }

    /// <summary>Remembers where a node's HTTP port is (from its Hello, or its inventory report).</summary>
    public void NoteAddress(string nodeId, Uri httpBase, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (Node(nodeId, now) is { } node)
            {
                node.HttpBase = httpBase;
            }
        }
    }

    /// <summary>A node reported holding the blob (confirmed).</summary>
    public bool AddHolder(string sha256, string nodeId, Uri httpBase, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (Node(nodeId, now) is not { } node)
            {
                return false;
            }

            node.HttpBase = httpBase;
            return Put(sha256, nodeId, likely: false, now);
        }
    }

    /// <summary>A node was handed a hit for the blob: it will hold it soon, and serves its verified pieces meanwhile.</summary>
    public bool AddLikely(string sha256, string nodeId, DateTimeOffset now)
    {
        lock (_lock)
        {
            return _nodes.TryGetValue(nodeId, out var node) && node.HttpBase is not null && Put(sha256, nodeId, likely: true, now);
        }
    }

    /// <summary>The node no longer holds the blob (it evicted it): no source for it, confirmed or likely.</summary>
    public bool RemoveHolder(string sha256, string nodeId)
    {
        lock (_lock)
        {
            if (!_bySha.TryGetValue(sha256, out var holders) || holders.FindIndex(h => h.NodeId == nodeId) is var at && at < 0)
            {
                return false;
            }

            RemoveAt(sha256, holders, at);
            return true;
        }
    }

    /// <summary>
    /// <paramref name="reporterId"/> says <paramref name="accusedId"/> proved wrong for the blob
    /// (<see cref="Protocol.Status.SourceFault"/>): it sent bytes or a piece list that failed their hashes, or answered
    /// 404 (<paramref name="gone"/>) for a blob it was listed as holding. The accused is taken off that blob's list, until
    /// it reports holding it again (its next full inventory, or a delta after it stores the blob anew), once a second
    /// node has said so within <see cref="StrikeWindow"/>: one PC whose own disk or memory is bad (its pieces fail
    /// against every holder) cannot empty the lists of the others. Not counted: a report from a node this table does
    /// not know (no session), about itself, about a node not listed for the blob, or a 404 from a likely holder (handed
    /// the blob lately: it answers 404 until its own fetch begins). True when the accused was taken off now.
    /// </summary>
    /// <param name="alone">The server's own fetch: its word alone suffices (it need not be a node this table knows).</param>
    public bool ReportFault(string sha256, string reporterId, string accusedId, bool gone, DateTimeOffset now, bool alone = false)
    {
        lock (_lock)
        {
            if (reporterId == accusedId || !(alone || _nodes.ContainsKey(reporterId)) || !_bySha.TryGetValue(sha256, out var holders))
            {
                return false;
            }

            var at = holders.FindIndex(h => h.NodeId == accusedId);
            if (at < 0 || (gone && holders[at].Likely))
            {
                return false;
            }

            var key = (sha256, accusedId);
            if (alone)
            {
                _strikes.Remove(key);
                RemoveAt(sha256, holders, at);
                return true;
            }

            if (!_strikes.TryGetValue(key, out var first) || now - first.At > StrikeWindow || now < first.At)
            {
                if (_strikes.Count >= MaxStrikes)
                {
                    foreach (var expired in _strikes.Where(k => now - k.Value.At > StrikeWindow || now < k.Value.At).Select(k => k.Key).ToList())
                    {
                        _strikes.Remove(expired);
                    }

                    if (_strikes.Count >= MaxStrikes)
                    {
                        _strikes.Clear(); // a flood of first reports within the window costs only the first reports
                    }
                }

                _strikes[key] = (reporterId, now);
                return false;
            }

            if (first.Reporter == reporterId)
            {
                return false; // the same node again: still one voice
            }

            _strikes.Remove(key);
            RemoveAt(sha256, holders, at);
            return true;
        }
    }

    /// <summary>The HTTP base of a node this table knows (null otherwise).</summary>
    public Uri? HttpBaseOf(string nodeId)
    {
        lock (_lock)
        {
            return _nodes.TryGetValue(nodeId, out var node) ? node.HttpBase : null;
        }
    }

    /// <summary>
    /// A node's full inventory: it holds exactly <paramref name="held"/> (SHA-256s). Its confirmed listings of any other
    /// blob end (a "gone" that never arrived: its delta was dropped, or the server was down), except one it was handed a
    /// hit for since it last confirmed it, within <see cref="LikelyLifetime"/>: that one becomes likely (it may be
    /// receiving the blob anew). Its likely listings stay. Costs the node's own listings, not the table's (a per-node
    /// index). Returns how many confirmed listings ended or turned likely.
    /// </summary>
    public int RetainHolder(string nodeId, IReadOnlySet<string> held, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(nodeId, out var node))
            {
                return 0;
            }

            var ended = 0;
            foreach (var sha in node.Listed.Where(sha => !held.Contains(sha)).ToList())
            {
                var holders = _bySha.GetValueOrDefault(sha);
                var at = holders?.FindIndex(h => h.NodeId == nodeId) ?? -1;
                if (at < 0)
                {
                    node.Listed.Remove(sha);
                    continue;
                }

                var holder = holders![at];
                if (holder.Likely)
                {
                    continue;
                }

                ended++;
                if (holder.HintedAt is { } hinted && now >= hinted && now - hinted <= LikelyLifetime)
                {
                    holders[at] = holder with { Likely = true, Since = hinted };
                    continue;
                }

                holders.RemoveAt(at);
                node.Listed.Remove(sha);
                if (holders.Count == 0)
                {
                    _bySha.Remove(sha);
                }
            }

            return ended;
        }
    }

    /// <summary>A node's copy failed (unreachable, wrong bytes): it is skipped for <see cref="FailurePenalty"/>.</summary>
    public void ReportFailed(string nodeId, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_nodes.TryGetValue(nodeId, out var node))
            {
                node.FailedAt = now;
            }
        }
    }

    /// <summary>The node left the cluster: it is no source for anything.</summary>
    public void RemoveNode(string nodeId)
    {
        lock (_lock)
        {
            if (!_nodes.Remove(nodeId))
            {
                return;
            }

            List<string>? empty = null;
            foreach (var (sha, holders) in _bySha)
            {
                holders.RemoveAll(h => h.NodeId == nodeId);
                if (holders.Count == 0)
                {
                    (empty ??= []).Add(sha);
                }
            }

            foreach (var sha in empty ?? [])
            {
                _bySha.Remove(sha);
            }
        }
    }

    /// <summary>True when some node is recorded as holding (or about to hold) the blob.</summary>
    public bool HasHolders(string sha256)
    {
        lock (_lock)
        {
            return _bySha.ContainsKey(sha256);
        }
    }

    /// <summary>
    /// True when a node other than <paramref name="askerId"/> has confirmed holding the blob (its inventory) and is not
    /// skipped for a recent failure: <see cref="Rank"/> would list it.
    /// </summary>
    public bool HasConfirmedHolder(string sha256, string? askerId, DateTimeOffset now)
    {
        lock (_lock)
        {
            return _bySha.TryGetValue(sha256, out var holders)
                && holders.Exists(h => !h.Likely && h.NodeId != askerId && _nodes.TryGetValue(h.NodeId, out var node) && Listable(node, now));
        }
    }

    /// <summary>
    /// Up to <paramref name="max"/> sources for the blob, best first, the asker excluded: confirmed holders before likely
    /// ones, each group by the fewest recent hand-outs (random tie-break); failed and expired ones skipped. Each listed
    /// holder's hand-out count grows (the first by 1, the second by 1/2, ...) so the next asker starts elsewhere.
    /// </summary>
    public List<PeerSource> Rank(string sha256, string? askerId, int max, DateTimeOffset now, IRandomSource random)
    {
        var result = new List<PeerSource>(Math.Min(max, 8));
        lock (_lock)
        {
            if (!_bySha.TryGetValue(sha256, out var holders))
            {
                return result;
            }

            foreach (var expired in holders.Where(h => h.Likely && now - h.Since > LikelyLifetime).ToList())
            {
                holders.Remove(expired);
                Unlist(sha256, expired.NodeId);
            }

            if (holders.Count == 0)
            {
                _bySha.Remove(sha256);
                return result;
            }

            var candidates = new List<(Holder Holder, NodeState Node, double Load, double Tie)>(holders.Count);
            foreach (var h in holders)
            {
                if (h.NodeId == askerId || !_nodes.TryGetValue(h.NodeId, out var node) || !Listable(node, now))
                {
                    continue;
                }

                candidates.Add((h, node, node.LoadAt(now), random.NextDouble()));
            }

            candidates.Sort(static (a, b) =>
                a.Holder.Likely != b.Holder.Likely ? (a.Holder.Likely ? 1 : -1)
                : a.Load != b.Load ? a.Load.CompareTo(b.Load)
                : a.Tie.CompareTo(b.Tie));
            for (var i = 0; i < candidates.Count && result.Count < max; i++)
            {
                var (holder, node, _, _) = candidates[i];
                result.Add(new PeerSource(holder.NodeId, Protocol.Http.BlobUrl.On(node.HttpBase!, sha256).ToString()));
                node.HandOut(1.0 / (i + 1), now);
            }
        }

        return result;
    }

    /// <summary>Its address is known and it has not failed within <see cref="FailurePenalty"/>.</summary>
    private static bool Listable(NodeState node, DateTimeOffset now) =>
        node.HttpBase is not null && !(node.FailedAt is { } failed && now - failed < FailurePenalty && now >= failed);

    private bool Put(string sha256, string nodeId, bool likely, DateTimeOffset now)
    {
        if (!_bySha.TryGetValue(sha256, out var holders))
        {
            if (_bySha.Count >= MaxBlobs)
            {
                return false;
            }

            _bySha[sha256] = holders = [];
        }

        var at = holders.FindIndex(h => h.NodeId == nodeId);
        if (at >= 0)
        {
            // A confirmation upgrades a likely holder (its hit was that download: no hint left); a hint never downgrades
            // a confirmed one, but is remembered (it may be receiving the blob anew: RetainHolder).
            var was = holders[at];
            holders[at] = was with { Likely = was.Likely && likely, Since = now, HintedAt = likely ? now : was.Likely ? null : was.HintedAt };
            return true;
        }

        if (holders.Count >= MaxHoldersPerBlob)
        {
            var oldestLikely = holders.FindIndex(h => h.Likely);
            if (oldestLikely < 0)
            {
                return false;
            }

            Unlist(sha256, holders[oldestLikely].NodeId);
            holders.RemoveAt(oldestLikely);
        }

        holders.Add(new Holder(nodeId, likely, now, likely ? now : null));
        _nodes[nodeId].Listed.Add(sha256);
        _strikes.Remove((sha256, nodeId)); // listed anew (it stored the blob again): a report about its old copy is not one about this one
        return true;
    }

    /// <summary>Under the lock: the holder at <paramref name="at"/> of the blob's <paramref name="holders"/> is one no more (nor the blob, when it was the last).</summary>
    private void RemoveAt(string sha256, List<Holder> holders, int at)
    {
        Unlist(sha256, holders[at].NodeId);
        holders.RemoveAt(at);
        if (holders.Count == 0)
        {
            _bySha.Remove(sha256);
        }
    }

    /// <summary>The node is no longer among the blob's holders.</summary>
    private void Unlist(string sha256, string nodeId)
    {
        if (_nodes.TryGetValue(nodeId, out var node))
        {
            node.Listed.Remove(sha256);
        }
    }

    private NodeState? Node(string nodeId, DateTimeOffset now)
    {
        if (_nodes.TryGetValue(nodeId, out var node))
        {
            return node;
        }

        if (_nodes.Count >= MaxNodes)
        {
            return null;
        }

        return _nodes[nodeId] = new NodeState { LoadStamp = now };
    }

    /// <param name="HintedAt">When the node was last handed a hit for the blob since it last confirmed holding it, if ever.</param>
    private sealed record Holder(string NodeId, bool Likely, DateTimeOffset Since, DateTimeOffset? HintedAt);

    private sealed class NodeState
    {
        /// <summary>The blobs this node is among the holders of (so a full report costs its own listings).</summary>
        public HashSet<string> Listed { get; } = new(StringComparer.Ordinal);

        public Uri? HttpBase { get; set; }

        public DateTimeOffset? FailedAt { get; set; }

        public double Load { get; private set; }

        public DateTimeOffset LoadStamp { get; set; }

        public double LoadAt(DateTimeOffset now)
        {
            var elapsed = (now - LoadStamp).TotalSeconds;
            return elapsed <= 0 ? Load : Load * Math.Pow(0.5, elapsed / LoadHalfLife.TotalSeconds);
        }

        public void HandOut(double weight, DateTimeOffset now)
        {
            Load = LoadAt(now) + weight;
            LoadStamp = now > LoadStamp ? now : LoadStamp;
        }
    }
}
