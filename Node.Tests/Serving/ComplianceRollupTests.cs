using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Serving;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Serving;

public sealed class ComplianceRollupTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(10);
    private static readonly string[] Oses = ["os-a", "os-b"];
    private static readonly string[] Names = ["KB1", "KB2", "KB3", "KB4", "KB5"];
    private static readonly string[] States = [ComplianceStates.Applied, ComplianceStates.Pending, ComplianceStates.Failed, ComplianceStates.Held];

    /// <summary>Random LANs: up to 12 nodes of two OSes, each reporting a random subset of five patches in random states, seen up to 20 min ago.</summary>
    private static Gen<List<ComplianceNodeRow>> Lans() =>
        from count in Gen.Choose(0, 12)
        from nodes in Gen.ListOf(
            from os in Gen.Elements(Oses)
            from agoSeconds in Gen.Choose(0, 1200)
            from states in Gen.ArrayOf(Gen.Elements(States.Append("absent").ToArray()), Names.Length)
            select (os, agoSeconds, states), count)
        select nodes.Select((n, i) => new ComplianceNodeRow(
            $"node{i}", $"host{i}", i % 3 == 0 ? "ring0" : null, n.os, "p1", Now, Now - TimeSpan.FromSeconds(n.agoSeconds),
            [.. Names.Select((name, k) => (name, state: n.states[k])).Where(x => x.state != "absent")
                .Select(x => new CompliancePatchRow(x.name, x.state, x.state == ComplianceStates.Failed ? "exit 3" : x.state == ComplianceStates.Held ? "ring 0 first" : null, Now))])).ToList();

    [Fact]
    public void EveryNodeOfAnOs_IsCountedOnceForEachPatch_AndAStaleNodeNeverCountsAsHavingIt()
    {
        Prop.ForAll(Lans().ToArbitrary(), nodes =>
        {
            var view = ComplianceRollup.Build(nodes, Now, StaleAfter, ComplianceFilter.All);
            foreach (var p in view.Patches)
            {
                var ofOs = nodes.Where(n => n.OsVersion == p.Os).Select(n => n.NodeId).Order(StringComparer.Ordinal).ToList();
                var counted = p.Have.Concat(p.Lack).Concat(p.Failed.Select(f => f.Node)).Concat(p.Held.Select(h => h.Node)).Concat(p.Stale).Order(StringComparer.Ordinal).ToList();
                Assert.Equal(ofOs, counted); // each node of the OS exactly once
                var stale = nodes.Where(n => Now - n.LastSeen > StaleAfter).Select(n => n.NodeId).ToHashSet();
                Assert.DoesNotContain(p.Have, stale.Contains);
                Assert.All(p.Stale, id => Assert.Contains(id, stale));
                Assert.All(p.Have, id => Assert.Equal(ComplianceStates.Applied, nodes.Single(n => n.NodeId == id).Patches.Single(x => x.PatchName == p.Patch).State));
                Assert.All(p.Failed, f => Assert.Equal("exit 3", f.Text));
            }

            // The patches are exactly those some node of the OS reported.
            var expected = nodes.SelectMany(n => n.Patches.Select(x => (n.OsVersion, x.PatchName))).Distinct().Order().ToList();
            Assert.Equal(expected, view.Patches.Select(p => (p.Os, p.Patch)).Order().ToList());

            // Per node: applied + lacks + failed + held is every patch of its OS; stale flagged by time alone.
            foreach (var n in view.Nodes)
            {
                var ofOs = view.Patches.Count(p => p.Os == n.Os);
                Assert.Equal(ofOs, n.Applied + n.Lacks.Count + n.Failed.Count + n.Held.Count);
                Assert.Equal(Now - nodes.Single(x => x.NodeId == n.NodeId).LastSeen > StaleAfter, n.Stale);
            }

            // Exit code: 2 with a failure or a stale node, else 1 with anything pending or held, else 0.
            var anyBad = view.Patches.Any(p => p.Failed.Count > 0) || view.Nodes.Any(n => n.Stale);
            var anyPending = view.Patches.Any(p => p.Lack.Count > 0 || p.Held.Count > 0);
            Assert.Equal(anyBad ? 2 : anyPending ? 1 : 0, view.ExitCode());
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public void Filters_NarrowToOneOs_OnePatch_OrOneNode_WithoutChangingThatNodesStates()
    {
        Prop.ForAll((from l in Lans() from n in Gen.Elements(Names) select (l, n)).ToArbitrary(), c =>
        {
            var (nodes, name) = c;
            var all = ComplianceRollup.Build(nodes, Now, StaleAfter, ComplianceFilter.All);

            var byOs = ComplianceRollup.Build(nodes, Now, StaleAfter, new ComplianceFilter(Os: "os-a"));
            Assert.All(byOs.Patches, p => Assert.Equal("os-a", p.Os));
            Assert.All(byOs.Nodes, n => Assert.Equal("os-a", n.Os));
            Assert.Equal(all.Patches.Where(p => p.Os == "os-a").Select(Key), byOs.Patches.Select(Key));

            var byPatch = ComplianceRollup.Build(nodes, Now, StaleAfter, new ComplianceFilter(Patch: name));
            Assert.All(byPatch.Patches, p => Assert.Equal(name, p.Patch));
            Assert.Equal(all.Patches.Where(p => p.Patch == name).Select(Key), byPatch.Patches.Select(Key));

            foreach (var node in nodes.Take(3))
            {
                var one = ComplianceRollup.Build(nodes, Now, StaleAfter, new ComplianceFilter(Node: node.NodeId));
                var n = Assert.Single(one.Nodes);
                Assert.Equal(all.Nodes.Single(x => x.NodeId == node.NodeId), n, new NodeComparer());
                Assert.All(one.Patches, p => Assert.Single(p.Have.Concat(p.Lack).Concat(p.Stale).Concat(p.Failed.Select(f => f.Node)).Concat(p.Held.Select(h => h.Node))));
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public void AFreshNodeThatDidNotReportAPatch_LacksIt()
    {
        var nodes = new List<ComplianceNodeRow>
        {
            new("a", "pc-a", null, "os-a", "p", Now, Now, [new CompliancePatchRow("KB1", ComplianceStates.Applied, null, Now), new CompliancePatchRow("KB2", ComplianceStates.Applied, null, Now)]),
            new("b", "pc-b", null, "os-a", "p", Now, Now, [new CompliancePatchRow("KB1", ComplianceStates.Applied, null, Now)]),
        };
        var view = ComplianceRollup.Build(nodes, Now, StaleAfter, ComplianceFilter.All);
        Assert.Equal(["b"], view.Patches.Single(p => p.Patch == "KB2").Lack);
        Assert.Equal(["KB2"], view.Nodes.Single(n => n.NodeId == "b").Lacks);
        Assert.Equal(1, view.ExitCode());
    }

    [Fact]
    public void Intake_RefusesTooManyPatches_DuplicatesAndBadIds_AndCutsLongTexts()
    {
        var many = Enumerable.Range(0, ComplianceReport.MaxPatches + 1).Select(i => new CompliancePatch($"KB{i}", ComplianceStates.Applied)).ToList();
        Assert.False(ComplianceIntake.TryRead(new ComplianceReport("n1", "h", null, "os-a", "p", Now, many), Now, out _, out var error));
        Assert.Contains("at most", error);
        Assert.False(ComplianceIntake.TryRead(new ComplianceReport("n1", "h", null, "os-a", "p", Now, [new("KB1", "applied"), new("KB1", "failed", "x")]), Now, out _, out _));
        Assert.False(ComplianceIntake.TryRead(new ComplianceReport("../n1", "h", null, "os-a", "p", Now, []), Now, out _, out _));
        Assert.False(ComplianceIntake.TryRead(new ComplianceReport("n1", "h", null, "os-a", "p", Now, [new("KB1", "installed")]), Now, out _, out _));
        Assert.True(ComplianceIntake.TryRead(new ComplianceReport("n1", new string('h', 5000) + "\u001b[31m", null, "os-a", "p", Now, [new("KB1", "failed", new string('e', 100_000))]), Now, out var row, out _));
        Assert.True(row.Hostname.Length <= ComplianceReport.MaxHostnameLength * 4);
        Assert.True(row.Patches[0].Detail!.Length <= ComplianceReport.MaxDetailLength * 4);
        Assert.DoesNotContain('\u001b', row.Hostname);
    }

    private static string Key(PatchCoverage p) => $"{p.Os}/{p.Patch}: {string.Join(",", p.Have)} | {string.Join(",", p.Lack)} | {string.Join(",", p.Failed.Select(f => f.Node))} | {string.Join(",", p.Held.Select(h => h.Node))} | {string.Join(",", p.Stale)}";

    private sealed class NodeComparer : IEqualityComparer<NodeCompliance>
    {
        public bool Equals(NodeCompliance? x, NodeCompliance? y) =>
            x!.NodeId == y!.NodeId && x.Stale == y.Stale && x.Applied == y.Applied && x.Lacks.SequenceEqual(y.Lacks) && x.Failed.SequenceEqual(y.Failed) && x.Held.SequenceEqual(y.Held);

        public int GetHashCode(NodeCompliance obj) => obj.NodeId.GetHashCode(StringComparison.Ordinal);
    }

    [Fact]
    public void TheMetricsCounts_AreTheViewsOwnSums()
    {
        Prop.ForAll(Lans().ToArbitrary(), nodes =>
        {
            var view = ComplianceRollup.Build(nodes, Now, StaleAfter, ComplianceFilter.All);
            var counts = ComplianceRollup.Count(nodes, Now, StaleAfter);
            Assert.Equal(view.Nodes.Select(n => n.Os).Distinct().Order(StringComparer.Ordinal), counts.Select(c => c.Os));
            foreach (var c in counts)
            {
                var ofOs = view.Patches.Where(p => p.Os == c.Os).ToList();
                Assert.Equal((ofOs.Sum(p => (long)p.Have.Count), ofOs.Sum(p => (long)p.Lack.Count), ofOs.Sum(p => (long)p.Failed.Count), ofOs.Sum(p => (long)p.Held.Count)), (c.Applied, c.Pending, c.Failed, c.Held));
                Assert.Equal(view.Nodes.Count(n => n.Os == c.Os && n.Stale), c.StaleNodes);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public void InventedPatchNames_CannotGrowAViewPastTheLimitPerOs_AndTheNamesMostNodesReportStay()
    {
        var real = Enumerable.Range(0, 3).Select(i => new ComplianceNodeRow($"real{i}", $"pc{i}", null, "os-a", "p", Now, Now,
            [new CompliancePatchRow("KB-REAL", ComplianceStates.Applied, null, Now)])).ToList();
        var fake = Enumerable.Range(0, 20).Select(n => new ComplianceNodeRow($"fake{n}", $"f{n}", null, "os-a", "p", Now, Now,
            [.. Enumerable.Range(0, ComplianceReport.MaxPatches).Select(i => new CompliancePatchRow($"A{n:00}-{i:0000}", ComplianceStates.Applied, null, Now))])).ToList();

        var view = ComplianceRollup.Build([.. real, .. fake], Now, StaleAfter, ComplianceFilter.All);

        Assert.Equal(ComplianceRollup.MaxPatchesPerOs, view.Patches.Count); // before: 81,921 patches, each listing 22 nodes that lack it
        Assert.Contains(view.Patches, p => p.Patch == "KB-REAL" && p.Have.Count == 3);
        Assert.All(view.Nodes, n => Assert.True(n.Lacks.Count <= ComplianceRollup.MaxPatchesPerOs));
    }
}
