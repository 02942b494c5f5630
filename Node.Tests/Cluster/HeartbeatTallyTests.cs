using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>
/// The count a server's heartbeats carry (<see cref="IHeartbeatTally"/>: today's internet bytes against the daily
/// quota) reaches the nodes that follow it, and only theirs: real <see cref="ClusterService"/>s on loopback
/// (<see cref="ClusterServiceLan"/>). What a follower does with it is InternetGate's (PolicyStoreTests).
/// </summary>
[Trait("Category", "Network")]
public sealed class HeartbeatTallyTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheServersCount_ReachesItsFollower_AndNoOtherHeartbeatsCountDoes(bool keyed)
    {
        await using var lan = new ClusterServiceLan(keyed);
        var day = DateOnly.FromDateTime(lan.Time.GetUtcNow().UtcDateTime).DayNumber;
        var serverTally = new Tally((day, 600));
        var followerTally = new Tally((0, 0));
        var server = await lan.StartAsync("n-a", 100, tally: serverTally);
        var follower = await lan.StartAsync("n-b", 10, tally: followerTally);

        Assert.True(await lan.RunUntilAsync(Limit, () => follower.Follows("n-a") && followerTally.Heard.Contains((day, 600))), $"{lan.Describe()}; heard: {followerTally}");
        Assert.Empty(serverTally.Heard); // a server follows nobody

        // Heartbeats no follower may take the count of: with a key, the server's own id from a forger holding another
        // key (never opened); on an open LAN, another id at the server's term, and the server's id at an older term.
        var term = follower.State.Current.Term;
        var forgerAuth = new ClusterAuth(keyed ? ClusterKey.Generate() : null, new NodeIdentity("n-forger", "i-forger", "test-1-amd64", "0.1.0"), lan.Time);
        using var forger = new LanTransport(new CoreOptions { Bind = "127.0.0.1", Port = 0 }, new TransportOptions(), new NodeStats(), TimeProvider.System, NullLogger<LanTransport>.Instance, forgerAuth);
        await forger.StartAsync(CancellationToken.None);
        var to = new IPEndPoint(IPAddress.Loopback, follower.Transport.LocalPort);
        Heartbeat[] forged = keyed
            ? [new Heartbeat("n-a", term, 100, 1, 47471, day, 1_000_000_000_000)]
            : [new Heartbeat("n-forger", term, 0, long.MaxValue / 2, 47471, day, 1_000_000_000_000), new Heartbeat("n-a", term - 1, 100, 1, 47471, day, 2_000_000_000_000)];
        await lan.RunUntilAsync(TimeSpan.FromSeconds(2), () =>
        {
            foreach (var beat in forged)
            {
                forger.SendUnconnected(beat, follower.Id, to);
            }

            return false;
        });

        Assert.True(follower.Follows("n-a"), lan.Describe());
        Assert.All(followerTally.Heard, h => Assert.Equal((day, 600L), h));
        Assert.True(followerTally.Heard.Count >= 2, $"the server's heartbeats stopped reaching the follower's tally: {followerTally}"); // it kept hearing the server meanwhile
    }

    private sealed class Tally((int Day, long Used) today) : IHeartbeatTally
    {
        public ConcurrentQueue<(int Day, long Used)> Heard { get; } = new();

        public (int Day, long Used) Today() => today;

        void IHeartbeatTally.Heard(int day, long used) => Heard.Enqueue((day, used));

        public override string ToString() => string.Join(", ", Heard.Distinct());
    }
}
