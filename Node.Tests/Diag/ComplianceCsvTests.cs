using PeerPatch.Diag;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Diag;

public sealed class ComplianceCsvTests
{
    [Fact]
    public void Csv_HasOneRowPerPatchAndNode_QuotesFields_AndDefusesFormulas()
    {
        var view = new ComplianceView(
            DateTimeOffset.UnixEpoch,
            3600,
            [new PatchCoverage("os", "KB1", ["a"], ["b"], [new NodeNote("c", "=HYPERLINK(\"http://x\")")], [new NodeNote("d", "ring 0, first")], ["e"])],
            [new NodeCompliance("a", "pc-a", null, "os", "p", null, DateTimeOffset.UnixEpoch, false, 1, [], [], [])]);

        var lines = DiagApp.ComplianceCsv(view).TrimEnd('\n').Split('\n');

        Assert.Equal("os,patch,node,hostname,state,detail", lines[0]);
        Assert.Equal(6, lines.Length);
        Assert.Equal("\"os\",\"KB1\",\"a\",\"pc-a\",applied,\"\"", lines[1]);
        Assert.Contains(lines, l => l.StartsWith("\"os\",\"KB1\",\"c\",\"\",failed,\"'=HYPERLINK(", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("held,\"ring 0, first\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(",stale,", StringComparison.Ordinal));
    }
}
