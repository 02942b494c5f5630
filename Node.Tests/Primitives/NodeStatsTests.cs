using System.Diagnostics;
using System.Text;
using PeerPatch.Node.Primitives;
using Prometheus;

namespace PeerPatch.Node.Tests.Primitives;

public sealed class NodeStatsTests
{
    /// <summary>
    /// Byte counters move once per socket read; inside a traced request prometheus-net would look up the trace and store
    /// an exemplar each time. The node's factory records none, so even the OpenMetrics export (the only one that could
    /// carry them) has no trace ids, while the counts are exact.
    /// </summary>
    [Fact]
    public async Task CountersInsideATrace_RecordNoExemplar_AndCountEveryByte()
    {
        var stats = new NodeStats();
        var requests = NodeStats.Factory(stats.Registry).CreateCounter("peerpatch_test_requests_total", "A counter made by the node's factory.");
        using (new Activity("a traced request").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            Assert.NotNull(Activity.Current);
            for (var i = 0; i < 1000; i++)
            {
                stats.AddPieceBytes(3, fromServer: i % 2 == 0);
                requests.Inc();
            }
        }

        using var text = new MemoryStream();
        await stats.Registry.CollectAndExportAsTextAsync(text, ExpositionFormat.OpenMetricsText);
        var exported = Encoding.UTF8.GetString(text.ToArray());

        Assert.Contains("peerpatch_test_requests_total 1000", exported);
        Assert.Equal(3000, stats.LanBytesFetched);
        Assert.Equal(1500, stats.PieceBytesFromServer);
        Assert.DoesNotContain("trace_id", exported);
    }
}
