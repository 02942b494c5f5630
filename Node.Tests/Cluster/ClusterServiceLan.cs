using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>
/// Real <see cref="ClusterService"/>s on loopback, on one <see cref="FakeTimeProvider"/>: each with its own SQLite
/// database, a <see cref="LanTransport"/> on 127.0.0.1:0 and mDNS on "lo" at a port of this LAN's own (so parallel
/// tests do not hear each other). The test moves the fake clock in 50 ms steps (<see cref="RunUntilAsync"/>); between
/// steps it yields a few real milliseconds so that the ticks, the mDNS and the heartbeat datagrams are handled.
/// </summary>
internal sealed class ClusterServiceLan : IAsyncDisposable
{
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);
    private readonly TempDir _dir = new();
    private readonly int _mdnsPort = FreePorts.Udp();
    private readonly ClusterKey? _key;
    private readonly List<RigNode> _nodes = [];

    public ClusterServiceLan(bool keyed) => _key = keyed ? ClusterKey.Generate() : null;

    public bool Keyed => _key is not null;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

    /// <param name="id">The node id.</param>
    /// <param name="priority">Its election priority.</param>
    /// <param name="provesKey">
    /// False (keyed LAN): it advertises this LAN's cluster id, but its transport seals and opens with another key, so it
    /// never answers a probe and stays an unproven candidate.
    /// </param>
    /// <param name="tally">What its heartbeats carry beside the election's fields, and where it puts what it hears.</param>
    public async Task<RigNode> StartAsync(string id, int priority, bool provesKey = true, IHeartbeatTally? tally = null)
    {
        var data = _dir.Sub(id);
        Directory.CreateDirectory(data);
        var self = new NodeIdentity(id, "i-" + id, "test-1-amd64", "0.1.0");
        var options = new ClusterOptions { MdnsInterfaces = ["lo"], MdnsPort = _mdnsPort, Priority = priority, AptProxyAdvert = false };
        var auth = new ClusterAuth(_key, self, Time);
        var transportAuth = provesKey ? auth : new ClusterAuth(ClusterKey.Generate(), self, Time);
        var transport = new LanTransport(new CoreOptions { Bind = "127.0.0.1", Port = 0 }, new TransportOptions(), new NodeStats(), TimeProvider.System, NullLogger<LanTransport>.Instance, transportAuth);
        await transport.StartAsync(CancellationToken.None);
        var db = PatchDatabase.Open(Path.Combine(data, "peerpatch.db"));
        var logs = new FakeLogCollector();
        var state = new ClusterState(options, self, Time);
        var service = new ClusterService(
            state, options, self, new NodeStartTime(Time.GetUtcNow()), new HttpEndpointInfo(new CoreOptions { HttpPort = 47471 }),
            transport, db, new BlobStore(data, db, new BlobStoreOptions(), Time), Time, new FixedRandom(), auth, new LoggerFactory([new FakeLoggerProvider(logs)]), tally);
        var node = new RigNode(id, state, service, transport, db, logs);
        _nodes.Add(node);
        await service.StartAsync(CancellationToken.None);
        return node;
    }

    /// <summary>Moves the clock in <see cref="Step"/>s until <paramref name="done"/> holds (true) or <paramref name="limit"/> passed (false).</summary>
    public async Task<bool> RunUntilAsync(TimeSpan limit, Func<bool> done)
    {
        for (var elapsed = TimeSpan.Zero; ; elapsed += Step)
        {
            if (done())
            {
                return true; // checked before each step too: the clock stops as soon as it holds
            }

            if (elapsed >= limit)
            {
                return false;
            }

            Time.Advance(Step);
            await Task.Delay(10); // real time for the ticks and datagrams of this step: pacing, not an assertion
        }
    }

    public Task RunAsync(TimeSpan duration) => RunUntilAsync(duration, () => false);

    public string Describe() => string.Join(", ", _nodes.Select(n =>
        $"{n.Id}:{n.State.Current.Role}->{n.State.Current.ServerId}@{n.State.Current.Term}{(n.Service.ExecuteTask is { IsCompleted: true } t ? $" (service ended: {t.Status})" : string.Empty)}"));

    public async ValueTask DisposeAsync()
    {
        var stuck = new List<string>();
        foreach (var node in _nodes)
        {
            // StopAsync returns at its token's bound even if the service's loop never ends: that is a failure, and the
            // other nodes are still stopped before it is reported.
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await node.Service.StopAsync(bound.Token);
            if (node.Service.ExecuteTask is { IsCompleted: false })
            {
                stuck.Add(node.Id);
            }

            node.Service.Dispose();
            node.Transport.Dispose();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
        Assert.True(stuck.Count == 0, $"cluster services still running 30 s after their stop: {string.Join(", ", stuck)}");
    }

    internal sealed record RigNode(string Id, ClusterState State, ClusterService Service, LanTransport Transport, PatchDatabase Db, FakeLogCollector Logs)
    {
        public bool Follows(string serverId) => State.Current.Role == NodeRole.Client && State.Current.ServerId == serverId;

        /// <summary>The exceptions logged with event <paramref name="eventId"/>.</summary>
        public IEnumerable<Exception> Exceptions(int eventId) => Logs.GetSnapshot().Where(r => r.Id.Id == eventId && r.Exception is not null).Select(r => r.Exception!);

        /// <summary>The log at Information and above, for a failure message.</summary>
        public string LogText() => string.Join('\n', Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Information).Select(r => $"[{r.Id.Id}] {r.Message} {r.Exception?.Message}"));
    }
}
