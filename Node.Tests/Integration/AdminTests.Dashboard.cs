using System.Text.RegularExpressions;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

// The dashboard (GET /) in a real browser: headless Chromium, inside the LAN's namespace, loads a client node's
// page; its scripts fetch the LAN through that node and the database from the server; the rendered page shows
// every node, the server and the database. A screenshot is saved beside the test binaries.
public sealed partial class AdminTests
{
    [RootFact]
    public async Task Dashboard_InHeadlessChromium_ShowsEveryNodeAndTheServer()
    {
        Assert.True(HeadlessChromium.Available, $"{HeadlessChromium.Binary} is missing: tools/test.sh installs Debian's chromium");
        using var profile = new TempDir();
        var client = fx.Clients[0];
        var ns = client.Netns!;
        var page = new Uri($"http://{client.Host}:{client.HttpPort}/");

        var dom = await HeadlessChromium.DumpDomAsync(ns, page, profile.Sub("dom"));

        Assert.Equal(fx.ServerId, Text(dom, "server"));
        Assert.Equal("4", Text(dom, "nodes-count"));
        Assert.Equal("3", Text(dom, "patches-count"));
        var rows = NodeRow().Matches(Body(dom, "nodes")).Select(m => m.Groups["id"].Value.Replace(" (this)", "", StringComparison.Ordinal)).ToList();
        var ids = new List<string>();
        foreach (var n in fx.Lan.Nodes)
        {
            ids.Add((await n.StatusAsync()).GetProperty("nodeId").GetString()!);
        }

        Assert.Equal(ids.Order().ToList(), rows.Order().ToList());
        Assert.Contains(fx.ServerId, ServerRow().Match(Body(dom, "nodes")).Value);
        Assert.Equal(3, Regex.Matches(Body(dom, "patches"), "KB-ADM").Count);
        Assert.Contains("67 %", Text(dom, "savings"));

        var png = Path.Combine(AppContext.BaseDirectory, "dashboard.png");
        await HeadlessChromium.ScreenshotAsync(ns, page, profile.Sub("shot"), png);
        output.WriteLine($"dashboard of {client.Name} rendered: server {fx.ServerId}, {rows.Count} node rows; screenshot {png} ({new FileInfo(png).Length} bytes)");
    }

    private static string Text(string dom, string id) => HeadlessChromium.ElementText(dom, id);

    private static string Body(string dom, string table) => HeadlessChromium.TableBody(dom, table);

    [GeneratedRegex("<tr[^>]*><td>(?<id>n[0-9a-f]{16}(?: \\(this\\))?)</td>")]
    private static partial Regex NodeRow();

    [GeneratedRegex("<tr class=\"server\">.*?</tr>", RegexOptions.Singleline)]
    private static partial Regex ServerRow();
}
