using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// `peerpatch-diag health` exit codes on live LANs that are broken: no server (every node pinned to a configured
/// server that is gone), two servers (two nodes pinned as server), a node that stops answering. The healthy case
/// (exit 0) is in AdminTests.
/// </summary>
[Trait("Category", "Network")]
public sealed class HealthTests(ITestOutputHelper output)
{
    [RootFact]
    public async Task LanWithNoServer_IsCritical()
    {
        // Both nodes are pinned to a configured server that is gone (an address on the test LAN with no host).
        await using var lan = await NetnsLan.CreateAsync(2);
        var gone = $"{lan.Subnet}.99:47470";
        await Task.WhenAll(lan.StartNodeAsync(1, "--role", "client", "--server", gone), lan.StartNodeAsync(2, "--role", "client", "--server", gone));

        var (exit, checks) = await HealthAsync(lan, expectedNodes: 2);

        Assert.Equal(2, exit);
        Assert.Equal("critical", checks["server"].Severity);
        Assert.StartsWith("no server", checks["server"].Message, StringComparison.Ordinal);
        Assert.Equal("ok", checks["nodes"].Severity);
    }

    [RootFact]
    public async Task LanWithTwoServers_IsCritical()
    {
        await using var lan = await NetnsLan.CreateAsync(2);
        await Task.WhenAll(lan.StartNodeAsync(1, "--role", "server"), lan.StartNodeAsync(2, "--role", "server"));

        var (exit, checks) = await HealthAsync(lan, expectedNodes: 2);

        Assert.Equal(2, exit);
        Assert.Equal("critical", checks["server"].Severity);
        Assert.StartsWith("2 servers", checks["server"].Message, StringComparison.Ordinal);
        var server = await NodeProcess.RunDiagAsync(lan.Namespace(1), "server", "--json", "--interface", "eth0");
        Assert.Equal(2, server.ExitCode);
        Assert.Equal(2, JsonDocument.Parse(server.Stdout).RootElement.GetProperty("servers").GetArrayLength());
    }

    [RootFact]
    public async Task NodeThatStopsAnswering_IsAWarning_WhileItsAdvertIsStillCached()
    {
        await using var lan = await NetnsLan.CreateAsync(3);
        await Task.WhenAll(Enumerable.Range(1, 3).Select(k => lan.StartNodeAsync(k)));
        var serverId = await ClusterWait.OneServerAsync(lan.Nodes, TimeSpan.FromSeconds(15));
        var server = await ClusterWait.NodeWithIdAsync(lan.Nodes, serverId);
        var frozen = lan.Nodes.Last(n => n != lan.Nodes[0] && n != server);
        frozen.Freeze(); // SIGSTOP: its mDNS records stay in every cache, but it answers nothing
        try
        {
            var health = await NodeProcess.RunDiagAsync(null, "health", "--json", "--node", lan.Nodes[0].Http.ToString(), "--timeout", "1");
            var json = JsonDocument.Parse(health.Stdout).RootElement;
            output.WriteLine(health.Stdout);
            Assert.Equal(1, health.ExitCode);
            var nodes = json.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "nodes");
            Assert.Equal("warning", nodes.GetProperty("severity").GetString());
            Assert.Contains("1 of 3 nodes not answering", nodes.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            frozen.Thaw();
        }
    }

    private async Task<(int Exit, Dictionary<string, (string Severity, string Message)> Checks)> HealthAsync(NetnsLan lan, int expectedNodes)
    {
        // Wait until both adverts are out (probing and announcing take ~2 s), then ask from node 1's namespace.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var nodes = await NodeProcess.RunDiagAsync(lan.Namespace(1), "nodes", "--json", "--interface", "eth0");
            if (JsonDocument.Parse(nodes.Stdout).RootElement.GetArrayLength() == expectedNodes || DateTime.UtcNow > deadline)
            {
                break;
            }
        }

        var result = await NodeProcess.RunDiagAsync(lan.Namespace(1), "health", "--json", "--interface", "eth0");
        output.WriteLine(result.Stdout + result.Stderr);
        var json = JsonDocument.Parse(result.Stdout).RootElement;
        var checks = json.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => (c.GetProperty("severity").GetString()!, c.GetProperty("message").GetString()!));
        Assert.Equal(result.ExitCode, json.GetProperty("exitCode").GetInt32());
        return (result.ExitCode, checks);
    }
}
