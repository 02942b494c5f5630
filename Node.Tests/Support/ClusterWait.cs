namespace PeerPatch.Node.Tests.Support;

/// <summary>Waits on a LAN of real nodes, through their GET /v1/status.</summary>
internal static class ClusterWait
{
    /// <summary>Waits until exactly one of <paramref name="nodes"/> is server and all of them follow it; returns its id.</summary>
    public static async Task<string> OneServerAsync(IReadOnlyList<NodeProcess> nodes, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        string views = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            var statuses = await Task.WhenAll(nodes.Select(n => n.StatusAsync()));
            views = string.Join(", ", statuses.Select(s => $"{s.GetProperty("nodeId").GetString()}:{s.GetProperty("role").GetString()}->{s.GetProperty("serverId").GetString()}@{s.GetProperty("term").GetInt64()}"));
            var servers = statuses.Where(s => s.GetProperty("role").GetString() == "server").ToList();
            if (servers.Count == 1)
            {
                var id = servers[0].GetProperty("nodeId").GetString()!;
                if (statuses.All(s => s.GetProperty("serverId").GetString() == id))
                {
                    return id;
                }
            }

            await Task.Delay(50);
        }

        var elections = nodes.SelectMany(n => n.Output.Split('\n').Where(l => l.Contains("elected LAN", StringComparison.Ordinal) || l.Contains("following server", StringComparison.Ordinal) || l.Contains("advertising node", StringComparison.Ordinal)));
        throw new Xunit.Sdk.XunitException($"no single server within {limit}: {views}\n" + string.Join('\n', elections));
    }

    public static async Task<NodeProcess> NodeWithIdAsync(IEnumerable<NodeProcess> nodes, string id)
    {
        foreach (var node in nodes)
        {
            if ((await node.StatusAsync()).GetProperty("nodeId").GetString() == id)
            {
                return node;
            }
        }

        throw new InvalidOperationException($"no node {id}");
    }
}
