using System.Net;
using PeerPatch.Node.Cluster;

namespace PeerPatch.Node.Tests.Cluster;

public sealed class ElectorTests
{
    [Fact]
    public void FiveNodesStarting_ElectTheHighestRankedNode_AsTheOnlyServer()
    {
        var lan = new SimulatedLan(5, priority: i => i == 3 ? 50 : 10);

        var took = lan.RunUntilConverged(TimeSpan.FromSeconds(3));

        Assert.True(lan.Nodes["n3"].IsServer);
        Assert.All(lan.Live, n => Assert.Equal("n3", n.ServerId));
        Assert.True(took <= TimeSpan.FromSeconds(2), $"took {took}");
    }

    [Fact]
    public void EqualPriorities_TheLongestRunningNodeWins()
    {
        var lan = new SimulatedLan(4);

        lan.RunUntilConverged(TimeSpan.FromSeconds(3));

        Assert.True(lan.Nodes["n0"].IsServer); // started first (smallest Since)
    }

    [Fact]
    public void ServerDies_TheNextRankedTakesOverWithAHigherTerm_Quickly()
    {
        var lan = new SimulatedLan(5);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        var oldTerm = lan.Nodes["n0"].Term;

        lan.Dead.Add("n0");
        var took = lan.RunUntilConverged(TimeSpan.FromSeconds(5));

        Assert.True(lan.Nodes["n1"].IsServer);
        Assert.Equal(oldTerm + 1, lan.Nodes["n1"].Term);
        Assert.All(lan.Live, n => Assert.Equal("n1", n.ServerId));
        Assert.True(took <= TimeSpan.FromSeconds(2), $"failover took {took}");
    }

    [Fact]
    public void ServerAndTheNextInLineDie_TheThirdTakesOver()
    {
        var lan = new SimulatedLan(5);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));

        lan.Dead.UnionWith(["n0", "n1"]);
        lan.RunUntilConverged(TimeSpan.FromSeconds(6));

        Assert.True(lan.Nodes["n2"].IsServer);
    }

    [Fact]
    public void SplitThreeTwo_EachSideElects_HealingConvergesToOneServer()
    {
        var lan = new SimulatedLan(5);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));

        foreach (var id in new[] { "n0", "n1" })
        {
            lan.Partition[id] = 1; // the server's side is the smaller one
        }

        lan.RunUntilConverged(TimeSpan.FromSeconds(5));
        Assert.Equal(2, lan.Live.Count(n => n.IsServer));
        Assert.True(lan.Nodes["n2"].IsServer);

        foreach (var id in lan.Partition.Keys)
        {
            lan.Partition[id] = 0;
        }

        var healed = lan.RunUntilConverged(TimeSpan.FromSeconds(5));

        var server = Assert.Single(lan.Live, n => n.IsServer);
        Assert.Equal("n2", server.SelfId); // the higher term wins over the higher rank
        Assert.True(healed <= TimeSpan.FromSeconds(1), $"heal took {healed}");
    }

    [Fact]
    public void ABetterNodeJoiningLater_DoesNotPreemptTheServer()
    {
        var lan = new SimulatedLan(3);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));

        lan.Add("n9", priority: 99, since: 1);
        lan.Run(TimeSpan.FromSeconds(5));

        Assert.True(lan.Nodes["n0"].IsServer);
        Assert.Equal("n0", lan.Nodes["n9"].ServerId);
    }

    [Fact]
    public void StaleAdvertOfADeadServer_DoesNotAttractFollowersAfterASuccessorWasElected()
    {
        var lan = new SimulatedLan(3);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        var deadTerm = lan.Nodes["n0"].Term;
        lan.Dead.Add("n0");
        lan.RunUntilConverged(TimeSpan.FromSeconds(5));

        // Discovery still lists n0 as server (its advert outlives it), long after it was suspected.
        var now = lan.Time.GetUtcNow() + TimeSpan.FromSeconds(30);
        var stale = new Member("n0", IPAddress.Loopback, 1, 2, 10, 1000, IsServer: true, Term: deadTerm);
        var n2 = lan.Nodes["n2"];
        n2.OnMembers([stale, new Member("n1", IPAddress.Loopback, 1, 2, 10, 1001, true, lan.Nodes["n1"].Term)], now);
        n2.OnHeartbeat("n1", lan.Nodes["n1"].Term, 10, 1001, now);

        Assert.Equal("n1", n2.ServerId);
    }

    [Fact]
    public void APinnedServerJoiningAnElectedLan_IsFollowedByEveryNode_AndTheElectedServerStepsDown()
    {
        var lan = new SimulatedLan(3);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        var elected = lan.Live.Single(n => n.IsServer);
        var now = lan.Time.GetUtcNow();

        foreach (var node in lan.Live)
        {
            node.OnHeartbeat("pinned", PeerPatch.Node.Cluster.ClusterState.PinnedTerm, 0, 99999, now);
        }

        Assert.All(lan.Live, n => Assert.Equal("pinned", n.ServerId));
        Assert.False(elected.IsServer);
    }

    [Fact]
    public void NodeRestartingWithAPersistedTerm_NeverGoesBackInTerms()
    {
        var lan = new SimulatedLan(0);
        lan.Add("a", 10, 1000, term: 41);
        lan.Add("b", 10, 1001, term: 7);

        lan.RunUntilConverged(TimeSpan.FromSeconds(3));

        Assert.True(lan.Nodes["a"].IsServer);
        Assert.Equal(42, lan.Nodes["a"].Term);
        Assert.Equal(42, lan.Nodes["b"].Term);
    }

    [Fact]
    public void ClockJumpingForward_CausesAtMostOneReelection_ThenSettles()
    {
        var lan = new SimulatedLan(3);
        lan.RunUntilConverged(TimeSpan.FromSeconds(3));
        var before = lan.Live.Max(n => n.Term);

        lan.Time.Advance(TimeSpan.FromMinutes(10)); // every heartbeat looks overdue at once
        lan.Run(TimeSpan.FromSeconds(5));
        var after = lan.Live.Max(n => n.Term);
        lan.Run(TimeSpan.FromSeconds(10));

        Assert.True(lan.Converged());
        Assert.InRange(after, before, before + 1);
        Assert.Equal(after, lan.Live.Max(n => n.Term));
        Assert.Single(lan.Live, n => n.IsServer);
    }
}
