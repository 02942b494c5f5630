using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Status;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// The compliance page (/ui/compliance.html) in headless Chromium against an in-process server fed with reports:
/// coverage per patch, failures with their (hostile) error text shown as text, stale nodes, a node's drill-down.
/// </summary>
[Trait("Category", "Network")]
public sealed partial class ComplianceDashboardTests(ITestOutputHelper output)
{
    private const string HostileHost = "<img src=x onerror=\"document.title='pwned'\">";
    private const string HostileError = "<script>document.title='pwned'</script> exit 3";

    [Fact]
    public async Task CompliancePage_InHeadlessChromium_ShowsCoverageFailuresAsTextStaleNodesAndADrillDown()
    {
        Assert.True(HeadlessChromium.Available, $"{HeadlessChromium.Binary} is missing: tools/test.sh installs Debian's chromium");
        using var dir = new TempDir();
        await using var server = await InProcessNode.StartAsync(dir.Sub("s"), TimeProvider.System, new Dictionary<string, string?>
        {
            [nameof(ClusterOptions.Role)] = "server",
            [nameof(ClusterOptions.Discovery)] = "false",
            [nameof(ServingOptions.ComplianceStaleAfter)] = "00:10:00",
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = new Uri(server.Http, "v1/compliance");
        for (var i = 0; (await server.StatusAsync()).GetProperty("role").GetString() != "server"; i++)
        {
            Assert.True(i < 150, "the node never became server");
            await Task.Delay(100);
        }

        async Task Report(ComplianceReport r) => Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync(url, r, StatusJsonContext.Default.ComplianceReport)).StatusCode);
        await Report(new ComplianceReport("pc-bad", HostileHost, "ring0", Lan.Os, "p1", DateTimeOffset.UtcNow,
            [new("KB-A", ComplianceStates.Applied), new("KB-B", ComplianceStates.Failed, HostileError), new("KB-C", ComplianceStates.Held, "ring 0 first")],
            [new ComplianceKnownNode("pc-gone", "old-pc", null, Lan.Os, 3_600_000)]));
        await Report(new ComplianceReport("pc-good", "good-pc", null, Lan.Os, "p2", DateTimeOffset.UtcNow,
            [new("KB-A", ComplianceStates.Applied), new("KB-B", ComplianceStates.Applied), new("KB-C", ComplianceStates.Applied)]));

        using var profile = new TempDir();
        var page = new Uri(server.Http, "ui/compliance.html#node=pc-bad");
        var dom = await HeadlessChromium.DumpDomAsync(null, page, profile.Sub("dom"));

        Assert.DoesNotContain("pwned", Regex.Match(dom, "<title>(?<t>.*?)</title>").Groups["t"].Value);
        Assert.DoesNotContain("<script>document.title", dom); // shown as text, never run
        Assert.DoesNotContain("<img src=\"x\"", dom);
        Assert.Contains("&lt;script&gt;document.title='pwned'&lt;/script&gt; exit 3", Body(dom, "failures"));
        Assert.Contains("&lt;img src=x", Body(dom, "nodes"));
        Assert.Equal("1 / 4", Text(dom, "compliant")); // the server itself reports too: no pass yet, so it lacks every patch
        Assert.Equal("1", Text(dom, "failures-count"));
        Assert.Equal("1", Text(dom, "stale-count"));
        var coverage = Body(dom, "coverage");
        Assert.Equal(3, Regex.Matches(coverage, "<tr class=\"patch\">").Count);
        Assert.Matches("KB-A</td><td><span[^>]*>50 %</span>", coverage); // 2 of 4 (the stale one is not counted as having it)
        var drill = Body(dom, "drill");
        Assert.Contains("KB-B</td><td>failed</td>", drill);
        Assert.Contains("KB-C</td><td>held</td><td>ring 0 first", drill);
        Assert.Contains("pc-bad", Text(dom, "drill-title"));

        var png = Path.Combine(AppContext.BaseDirectory, "compliance.png");
        await HeadlessChromium.ScreenshotAsync(null, page, profile.Sub("shot"), png);
        output.WriteLine($"compliance page rendered; screenshot {png} ({new FileInfo(png).Length} bytes)");
    }

    private static string Text(string dom, string id) => HeadlessChromium.ElementText(dom, id);

    private static string Body(string dom, string table) => HeadlessChromium.TableBody(dom, table);
}
