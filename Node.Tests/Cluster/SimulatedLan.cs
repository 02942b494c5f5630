using System.Net;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Cluster;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>
/// Electors on a simulated LAN with injected time: discovery shows every live node of the same partition
/// (its advert carries role and term), and servers heartbeat every member of their partition.
/// </summary>
internal sealed class SimulatedLan
{
    public static readonly ElectionTiming Timing = ElectionTiming.Default;
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);
    private readonly Dictionary<string, DateTimeOffset> _lastBeat = [];

    public SimulatedLan(int nodes, Func<int, int>? priority = null)
    {
        for (var i = 0; i < nodes; i++)
        {
            Add($"n{i}", priority?.Invoke(i) ?? 10, since: 1000 + i);
        }
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));

    public Dictionary<string, Elector> Nodes { get; } = [];

    public Dictionary<string, int> Partition { get; } = [];

    public HashSet<string> Dead { get; } = [];

    public IEnumerable<Elector> Live => Nodes.Values.Where(e => !Dead.Contains(e.SelfId));

    public Elector Add(string id, int priority, long since, long term = 0)
    {
        var elector = new Elector(id, priority, since, term, Timing, Time.GetUtcNow());
        Nodes[id] = elector;
        Partition[id] = 0;
        return elector;
    }

    /// <summary>Runs the LAN for <paramref name="duration"/> in 50 ms steps.</summary>
    public void Run(TimeSpan duration)
    {
        var end = Time.GetUtcNow() + duration;
        while (Time.GetUtcNow() < end)
        {
            Time.Advance(Step);
            var now = Time.GetUtcNow();
            foreach (var node in Live.ToList())
            {
                node.OnMembers(Live.Where(o => Partition[o.SelfId] == Partition[node.SelfId]).Select(Advert), now);
            }

            foreach (var server in Live.Where(n => n.IsServer).ToList())
            {
                if (_lastBeat.TryGetValue(server.SelfId, out var last) && now - last < Timing.HeartbeatInterval)
                {
                    continue;
                }

                _lastBeat[server.SelfId] = now;
                foreach (var node in Live.Where(o => o != server && Partition[o.SelfId] == Partition[server.SelfId]).ToList())
                {
                    if (server.IsServer)
                    {
                        node.OnHeartbeat(server.SelfId, server.Term, server.Self.Priority, server.Self.Since, now);
                    }
                }
            }

            foreach (var node in Live.ToList())
            {
                node.Tick(now);
            }
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
                throw new Xunit.Sdk.XunitException($"no convergence in {limit}: " + string.Join(", ", Live.Select(n => $"{n.SelfId}->{n.ServerId}@{n.Term}")));
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

    private Member Advert(Elector e) => new(e.SelfId, IPAddress.Loopback, 47470, 47471, e.Self.Priority, e.Self.Since, e.IsServer, e.Term);
}
