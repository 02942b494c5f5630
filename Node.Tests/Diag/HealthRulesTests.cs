using PeerPatch.Diag;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Diag;

public sealed class HealthRulesTests
{
    [Fact]
    public void OneServerFollowedByAll_IsOk()
    {
        var lan = View(Node("a", "server", "a"), Node("b", "client", "a"), Node("c", "client", "a"));
        var checks = Health.Evaluate(lan);
        Assert.Equal(Severity.Ok, Health.Overall(checks));
        Assert.Equal(6, checks.Count);
    }

    [Fact]
    public void NoNodeFound_IsCritical()
    {
        var checks = Health.Evaluate(View());
        Assert.Equal(Severity.Critical, Health.Overall(checks));
        Assert.Equal("no PeerPatch node found", Assert.Single(checks).Message);
    }

    [Fact]
    public void NoServer_IsCritical()
    {
        var checks = Health.Evaluate(View(Node("a", "client", null), Node("b", "client", null)));
        Assert.Equal(Severity.Critical, checks.Single(c => c.Name == "server").Severity);
    }

    [Fact]
    public void TwoServers_IsCritical_AndNamesBoth()
    {
        var checks = Health.Evaluate(View(Node("a", "server", "a"), Node("b", "server", "b")));
        var server = checks.Single(c => c.Name == "server");
        Assert.Equal(Severity.Critical, server.Severity);
        Assert.Contains("a (term 1)", server.Message, StringComparison.Ordinal);
        Assert.Contains("b (term 1)", server.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARogueServerOfAnotherCluster_IsAWarningAboutClusters_NotASecondServerOfOurs()
    {
        var checks = Health.Evaluate(View(
            Node("a", "server", "a", cluster: "1a2b3c4d5e6f7a8b"), Node("b", "client", "a", cluster: "1a2b3c4d5e6f7a8b"),
            Node("rogue", "server", "rogue")));

        Assert.Equal(Severity.Warning, Health.Overall(checks));
        Assert.Equal(Severity.Ok, checks.Single(c => c.Name == "server").Severity);
        var clusters = checks.Single(c => c.Name == "clusters");
        Assert.Contains("cluster 1a2b3c4d5e6f7a8b (2 nodes: a b)", clusters.Message, StringComparison.Ordinal);
        Assert.Contains("no key (1 nodes: rogue)", clusters.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANodeFollowingAnotherServer_IsAWarning()
    {
        var checks = Health.Evaluate(View(Node("a", "server", "a"), Node("b", "client", "zz")));
        Assert.Equal(Severity.Warning, checks.Single(c => c.Name == "server").Severity);
    }

    [Fact]
    public void VersionSkew_IsAWarning_ProtocolSkew_IsCritical()
    {
        var versions = Health.Evaluate(View(Node("a", "server", "a"), Node("b", "client", "a", version: "0.2.0")));
        Assert.Equal(Severity.Warning, Health.Overall(versions));
        Assert.Equal(Severity.Warning, versions.Single(c => c.Name == "version").Severity);

        var protocols = Health.Evaluate(View(Node("a", "server", "a"), Node("b", "client", "a", protocol: 2)));
        Assert.Equal(Severity.Critical, protocols.Single(c => c.Name == "protocol").Severity);
    }

    [Theory]
    [InlineData(50, (int)Severity.Ok)]
    [InlineData(9, (int)Severity.Warning)]
    [InlineData(4, (int)Severity.Critical)]
    public void DiskFreeShare_SetsTheDiskSeverity(long freePercent, int expected)
    {
        var checks = Health.Evaluate(View(Node("a", "server", "a"), Node("b", "client", "a", freePercent: freePercent)));
        Assert.Equal((Severity)expected, checks.Single(c => c.Name == "disk").Severity);
    }

    [Fact]
    public void UnreachableNode_IsAWarning_AllUnreachable_IsCritical()
    {
        var down = new NodeReport("c", "http://10.0.0.3:47471/", "mdns", null, false, "no answer in time", null);
        Assert.Equal(Severity.Warning, Health.Evaluate(View(Node("a", "server", "a"), down)).Single(c => c.Name == "nodes").Severity);
        Assert.Equal(Severity.Critical, Health.Evaluate(View(down)).Single(c => c.Name == "nodes").Severity);
    }

    [Fact]
    public void ManyViewChangesInAnHour_IsElectionChurn()
    {
        var churn = Health.Evaluate(View(Node("a", "server", "a"), Node("b", "client", "a", electionsLastHour: Health.ChurnPerHour + 1)));
        Assert.Equal(Severity.Warning, churn.Single(c => c.Name == "elections").Severity);
        var calm = Health.Evaluate(View(Node("a", "server", "a"), Node("b", "client", "a", electionsLastHour: Health.ChurnPerHour)));
        Assert.Equal(Severity.Ok, calm.Single(c => c.Name == "elections").Severity);
    }

    [Fact]
    public void AFailedLastPass_IsAnUpdatesWarning_NamingTheNodeAndItsFailure()
    {
        var failed = new PassStatus("p1", DateTimeOffset.UnixEpoch, false, 3, 0, 1, 0, null, ["libc6_2.36-9+deb12u14_amd64.deb: not shared: no SHA-256 in apt's lists"]);
        var checks = Health.Evaluate(View(Node("a", "server", "a"), Node("b", "client", "a", lastPass: failed)));
        var updates = checks.Single(c => c.Name == "updates");
        Assert.Equal(Severity.Warning, updates.Severity);
        Assert.Contains("b: 1 failed (libc6_2.36-9+deb12u14_amd64.deb: not shared", updates.Message, StringComparison.Ordinal);

        var clean = Health.Evaluate(View(Node("a", "server", "a"), Node("b", "client", "a", lastPass: failed with { Failed = 0, Failures = [] })));
        Assert.Equal(Severity.Ok, clean.Single(c => c.Name == "updates").Severity);
    }

    [Fact]
    public void TrafficReport_SumsTheNodes_AndSavingsIsLanOverAllPatchBytes()
    {
        var lan = View(Node("a", "server", "a", internet: 100, lanFetched: 0), Node("b", "client", "a", internet: 0, lanFetched: 300));
        var report = TrafficReport.From(lan);
        Assert.Equal(100, report.Total.InternetBytes);
        Assert.Equal(300, report.Total.LanBytesFetched);
        Assert.Equal(75.0, report.SavingsPercent);
    }

    private static LanView View(params NodeReport[] nodes) => new(DateTimeOffset.UnixEpoch, nodes);

    private static NodeReport Node(
        string id, string role, string? serverId, string version = "0.1.0", int protocol = 1, long freePercent = 50, long electionsLastHour = 1, long internet = 0, long lanFetched = 0, string cluster = "", PassStatus? lastPass = null) =>
        new(id, $"http://{id}:47471/", "mdns", DateTimeOffset.UnixEpoch, true, null, new NodeStatus(
            id, "i", version, protocol, "host", role, serverId, serverId, 1, true, 2, "os", 0,
            new BlobStatus(0, 0, 0, 0, 0), new DiskStatus(100, freePercent), 0, 10, false, 47470, 47471, 0,
            new MdnsStatus([], 0, 0, 0),
            new TrafficStats(0, lanFetched, 0, 0, internet, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 1, electionsLastHour, cluster, lastPass));
}
