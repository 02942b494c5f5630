using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Hostile compliance reports against a real server: each within every per-report limit (4 MiB, 4096 patches), but
/// naming patches nobody else has. What they may cost the server's views must stay in proportion to what was sent.
/// </summary>
[Trait("Category", "Network")]
public sealed class ComplianceFloodTests(ITestOutputHelper output)
{
    [Fact]
    public async Task FiftyReportsOf4096InventedPatches_KeepTheComplianceViewAndTheMetricsSmallAndQuick()
    {
        const int Reports = 50;
        using var dir = new TempDir();
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(3) };
        long sent = 0;
        for (var n = 0; n < Reports; n++)
        {
            var report = new StringBuilder($"{{\"nodeId\":\"n-fake{n:0000}\",\"hostname\":\"fake{n}\",\"os\":\"{Lan.Os}\",\"passId\":\"p\",\"at\":\"2026-12-01T00:00:00Z\",\"patches\":[");
            for (var i = 0; i < 4096; i++)
            {
                report.Append(i == 0 ? string.Empty : ",").Append($"{{\"patch\":\"P{n:0000}-{i:0000}\",\"state\":\"applied\"}}");
            }

            var body = report.Append("]}").ToString();
            sent += body.Length;
            using var post = await http.PostAsync(new Uri(server.Http, "v1/compliance"), new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        }

        var clock = Stopwatch.StartNew();
        var view = await http.GetByteArrayAsync(new Uri(server.Http, "v1/compliance"));
        var viewSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var metrics = await http.GetStringAsync(new Uri(server.Http, "metrics"));
        var metricsSeconds = clock.Elapsed.TotalSeconds;
        var (_, peak) = server.Memory();
        output.WriteLine($"{Reports} reports, {sent / 1e6:0.0} MB sent; GET /v1/compliance: {view.Length / 1e6:0.0} MB in {viewSeconds:0.0} s; GET /metrics: {metricsSeconds:0.0} s; server peak RSS {peak >> 20} MiB");

        Assert.Contains("peerpatch_compliance_patches", metrics, StringComparison.Ordinal);
        Assert.True(metricsSeconds < 10, $"GET /metrics took {metricsSeconds:0.0} s: longer than Prometheus' default scrape timeout");
        Assert.True(view.Length < 4 * sent, $"the compliance view is {view.Length / 1e6:0.0} MB for {sent / 1e6:0.0} MB of reports");
        using var parsed = JsonDocument.Parse(view);
        Assert.Equal(Reports, parsed.RootElement.GetProperty("nodes").EnumerateArray().Count(n => n.GetProperty("nodeId").GetString()!.StartsWith("n-fake", StringComparison.Ordinal))); // every report still listed (and the server's own)
    }
}
