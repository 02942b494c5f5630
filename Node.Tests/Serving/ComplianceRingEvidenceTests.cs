using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>The policy's ring-0 rule reads the compliance reports: what ComplianceBook answers as its IRingEvidence.</summary>
public sealed class ComplianceRingEvidenceTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReportedNodes_AndTheirAppliedOrFailedPatches_AreTheRingEvidence_SinceTheirFirstReportInThatState()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
        var db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        var book = new ComplianceBook(db, new ServingOptions(), time, NullLogger<ComplianceBook>.Instance);
        var first = time.GetUtcNow();
        book.Record(Row("n-ring0", "test-pc", "0", first,
            ("KB-A", ComplianceStates.Applied, null), ("KB-B", ComplianceStates.Failed, "exit 3"), ("KB-C", ComplianceStates.Pending, null), ("KB-D", ComplianceStates.Held, "held by admin")));
        book.Record(Row("n-other", "office-7", null, first, ("KB-A", ComplianceStates.Pending, null)));
        time.Advance(TimeSpan.FromHours(2));
        book.Record(Row("n-ring0", "test-pc", "0", time.GetUtcNow(), ("KB-A", ComplianceStates.Applied, null), ("KB-B", ComplianceStates.Failed, "exit 3"))); // a re-send

        IRingEvidence evidence = book;
        Assert.Equal(
            [new RingNode("n-other", "office-7", null), new RingNode("n-ring0", "test-pc", "0")],
            evidence.Nodes().OrderBy(n => n.NodeId));
        Assert.Equal(
            [new RingReport("n-ring0", "test-1-amd64", "KB-A", true, first), new RingReport("n-ring0", "test-1-amd64", "KB-B", false, first)],
            evidence.Reports(new HashSet<string> { "n-ring0" }).OrderBy(r => r.Patch));
        Assert.Empty(evidence.Reports(new HashSet<string> { "n-other" })); // pending is neither applied nor failed
    }

    private static ComplianceNodeRow Row(string node, string host, string? ring, DateTimeOffset at, params (string Name, string State, string? Detail)[] patches) =>
        new(node, host, ring, "test-1-amd64", "pass-" + at.ToUnixTimeSeconds(), at, at, [.. patches.Select(p => new CompliancePatchRow(p.Name, p.State, p.Detail, at))]);
}
