using System.Net;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Cluster;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>
/// Electors on a simulated LAN with injected time: discovery shows every live node of the same partition
/// (its advert carries role and term) plus whatever <see cref="Forger"/> sends, and servers heartbeat every member
/// of their partition that their discovery lists at the node's real address.
/// With <c>keyed</c>, each node runs a <see cref="MemberVerifier"/> as the node does: adverts only name candidates,
/// a probe is answered (with the truth) only by the honest node living at the probed address, and only proven members
/// reach the elector and get heartbeats. Node i lives at 10.0.0.(i+1).
/// A node in <see cref="StarvedUntil"/> does not run until then (an overloaded host): it neither ticks nor heartbeats,
/// and the heartbeats sent to it wait in its socket until it runs again, to be read after its first tick (the worst case).
/// </summary>
internal sealed class SimulatedLan
{
    public static readonly ElectionTiming Timing = ElectionTiming.Default;
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);
    private readonly Dictionary<string, DateTimeOffset> _lastBeat = [];
    private readonly Dictionary<string, MemberVerifier> _verifiers = [];
    private readonly Dictionary<string, IPAddress> _addresses = [];
    private readonly Dictionary<string, List<Member>> _members = [];
    private readonly Dictionary<string, Dictionary<string, (long Term, int Priority, long Since)>> _queued = [];

    public SimulatedLan(int nodes, Func<int, int>? priority = null, bool keyed = false, ElectionTiming? timing = null)
    {
        Keyed = keyed;
        NodeTiming = timing ?? Timing;
        for (var i = 0; i < nodes; i++)
        {
            Add($"n{i}", priority?.Invoke(i) ?? 10, since: 1000 + i);
        }
    }

    public bool Keyed { get; }

    /// <summary>The timing every node of this LAN runs with (default <see cref="Timing"/>).</summary>
    public ElectionTiming NodeTiming { get; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));

    public Dictionary<string, Elector> Nodes { get; } = [];

    public Dictionary<string, int> Partition { get; } = [];

    public HashSet<string> Dead { get; } = [];

    /// <summary>Nodes that get no CPU until the given time.</summary>
    public Dictionary<string, DateTimeOffset> StarvedUntil { get; } = [];

    /// <summary>Every decision other than <see cref="Decision.None"/> a node took, in order.</summary>
    public List<(string NodeId, Decision Decision)> Decisions { get; } = [];

    public IEnumerable<Elector> Live => Nodes.Values.Where(e => !Dead.Contains(e.SelfId));

    /// <summary>
    /// Forged adverts for this step, heard by every node: each with the ids whose real advert it displaces (a copied
    /// instance name: the browser keeps the forger's records instead of the real node's).
    /// </summary>
    public Func<DateTimeOffset, IReadOnlyList<(Member Advert, bool Displaces)>>? Forger { get; set; }

    public Elector Add(string id, int priority, long since, long term = 0)
    {
        var elector = new Elector(id, priority, since, term, NodeTiming, Time.GetUtcNow());
        Nodes[id] = elector;
        Partition[id] = 0;
        _addresses[id] = IPAddress.Parse($"10.0.0.{_addresses.Count + 1}");
        _verifiers[id] = new MemberVerifier(id);
        return elector;
    }

    public IPAddress AddressOf(string id) => _addresses[id];

    /// <summary>Runs the LAN for <paramref name="duration"/> in 50 ms steps; <paramref name="check"/> runs after each.</summary>
    public void Run(TimeSpan duration, Action? check = null)
    {
        var end = Time.GetUtcNow() + duration;
        while (Time.GetUtcNow() < end)
        {
            Time.Advance(Step);
            var now = Time.GetUtcNow();
            var forged = Forger?.Invoke(now) ?? [];
            var displaced = forged.Where(f => f.Displaces).Select(f => f.Advert.NodeId).ToHashSet();
            foreach (var node in Live.Where(n => !Starved(n, now)).ToList())
            {
                var adverts = Live.Where(o => Partition[o.SelfId] == Partition[node.SelfId] && !displaced.Contains(o.SelfId)).Select(Advert)
                    .Concat(forged.Select(f => f.Advert)).ToList();
                var members = Keyed ? Verify(node, adverts, now) : adverts;
                _members[node.SelfId] = members;
                Record(node, node.OnMembers(members, now));
            }

            foreach (var node in Live.Where(n => !Starved(n, now) && _queued.ContainsKey(n.SelfId)).ToList())
            {
                foreach (var (serverId, beat) in _queued[node.SelfId])
                {
                    Record(node, node.OnHeartbeat(serverId, beat.Term, beat.Priority, beat.Since, now)); // read late, with the time it is read
                }

                _queued.Remove(node.SelfId);
            }

            foreach (var server in Live.Where(n => n.IsServer && !Starved(n, now)).ToList())
            {
                if (_lastBeat.TryGetValue(server.SelfId, out var last) && now - last < NodeTiming.HeartbeatInterval)
                {
                    continue;
                }

                _lastBeat[server.SelfId] = now;
                foreach (var node in Live.Where(o => o != server && Partition[o.SelfId] == Partition[server.SelfId] && Heartbeats(server, o)).ToList())
                {
                    if (server.IsServer && Starved(node, now))
                    {
                        var queue = _queued.TryGetValue(node.SelfId, out var q) ? q : _queued[node.SelfId] = [];
                        queue[server.SelfId] = (server.Term, server.Self.Priority, server.Self.Since);
                    }
                    else if (server.IsServer)
                    {
                        Record(node, node.OnHeartbeat(server.SelfId, server.Term, server.Self.Priority, server.Self.Since, now));
                    }
                }
            }

            foreach (var node in Live.Where(n => !Starved(n, now)).ToList())
            {
                Record(node, node.Tick(now));
            }

            check?.Invoke();
        }
    }

    /// <summary>Runs until every live node of each partition follows one server of that partition; returns how long it took.</summary>
    public TimeSpan RunUntilConverged(TimeSpan limit)
    {
        var start = Time.GetUtcNow();
        while (!Converged())
        {
            if (Time.GetUtcNow() - start > limit)
            {
                throw new Xunit.Sdk.XunitException($"no convergence in {limit}: " + Describe());
            }

            Run(Step);
        }

        return Time.GetUtcNow() - start;
    }

    public bool Converged() => Live.GroupBy(n => Partition[n.SelfId]).All(side =>
    {
        var servers = side.Where(n => n.IsServer).ToList();
        return servers.Count == 1 && side.All(n => n.ServerId == servers[0].SelfId);
    });

    public string Describe() => string.Join(", ", Live.Select(n => $"{n.SelfId}->{n.ServerId}@{n.Term}"));

    /// <summary>The server sends its heartbeats to the address its discovery lists for the node: the real node gets them only if that is its own.</summary>
    private bool Heartbeats(Elector server, Elector to) =>
        _members.TryGetValue(server.SelfId, out var members) && members.Any(m => m.NodeId == to.SelfId && m.Address.Equals(_addresses[to.SelfId]));

    private List<Member> Verify(Elector node, List<Member> adverts, DateTimeOffset now)
    {
        var verifier = _verifiers[node.SelfId];
        var probes = new List<(MemberProbe Probe, string ToId, IPEndPoint To, bool Suspicious)>();
        verifier.Filter(adverts, now, probes);
        foreach (var (probe, toId, to, _) in probes)
        {
            // Only an honest node at that address, on this side of a split, holds the key and answers, with the truth;
            // and only if it is the node the probe is sealed for (any other refuses it).
            var owner = Live.FirstOrDefault(o => o.SelfId == toId && _addresses[o.SelfId].Equals(to.Address) && Partition[o.SelfId] == Partition[node.SelfId]);
            if (owner is not null && owner != node)
            {
                verifier.OnProof(new MemberProof(owner.SelfId, probe.Nonce, owner.IsServer ? NodeRole.Server : NodeRole.Client, owner.Term, owner.Self.Priority, owner.Self.Since, 47471), now);
            }
        }

        return verifier.Filter(adverts, now, []);
    }

    private void Record(Elector node, Decision decision)
    {
        if (decision.Kind != DecisionKind.None)
        {
            Decisions.Add((node.SelfId, decision));
        }
    }

    private bool Starved(Elector node, DateTimeOffset now) => StarvedUntil.TryGetValue(node.SelfId, out var until) && now < until;

    private Member Advert(Elector e) => new(e.SelfId, _addresses[e.SelfId], 47470, 47471, e.Self.Priority, e.Self.Since, e.IsServer, e.Term);
}
