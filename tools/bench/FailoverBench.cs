using System.Diagnostics;
using System.Net;
using System.Text.Json;
using LiteNetLib;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Bench;

/// <summary>
/// Failover: N zero-config nodes in network namespaces elect a server; it is SIGKILLed; the clock runs until a
/// lookup sent to the server the survivors now name is answered (any LookupResult).
/// </summary>
internal static class FailoverBench
{
    public static async Task<double> RunAsync(string repo, string work, int nodes)
    {
        await using var lan = await NetnsLan.CreateAsync(nodes);
        var dll = Path.Combine(repo, "Node", "bin", "Release", "net10.0", "peerpatch.dll");
        var processes = new Dictionary<int, Process>();
        for (var k = 1; k <= nodes; k++)
        {
            var data = Path.Combine(work, $"failover-{k}");
            Directory.CreateDirectory(data);
            var config = Path.Combine(work, $"failover-{k}.json");
            await File.WriteAllTextAsync(config, """{"ClusterKeyFile":"none","RedirectPort":0,"AptProxyAdvert":false}""");
            processes[k] = Proc.Start("ip", "netns", "exec", lan.Namespace(k), "dotnet", dll, "run", "--data", data, "--config", config,
                "--update-interval", "0", "--os-version", "bench-1-amd64");
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromMilliseconds(500) };
        async Task<(string? ServerId, string? Server, string? Id)> ViewAsync(int k)
        {
            try
            {
                using var doc = JsonDocument.Parse(await http.GetStringAsync($"http://{lan.Address(k)}:47471/v1/status"));
                var root = doc.RootElement;
                return (root.GetProperty("serverId").GetString(), root.GetProperty("server").GetString(), root.GetProperty("nodeId").GetString());
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                return (null, null, null);
            }
        }

        // Wait for one agreed server.
        var ids = new Dictionary<string, int>();
        string? serverId = null;
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(60) && serverId is null; await Task.Delay(200))
        {
            var views = await Task.WhenAll(Enumerable.Range(1, nodes).Select(async k => (k, await ViewAsync(k))));
            foreach (var (k, v) in views)
            {
                if (v.Id is not null)
                {
                    ids[v.Id] = k;
                }
            }

            var servers = views.Select(v => v.Item2.ServerId).Distinct().ToList();
            if (servers.Count == 1 && servers[0] is not null && ids.ContainsKey(servers[0]!))
            {
                serverId = servers[0];
            }
        }

        if (serverId is null)
        {
            throw new InvalidOperationException("no agreed server within 60 s");
        }

        await Task.Delay(TimeSpan.FromSeconds(3)); // steady state
        var victim = ids[serverId];
        var witness = victim == 1 ? 2 : 1;
        var request = WireCodec.Encode(Envelope.Of(7, new Lookup("bench-1-amd64", "KB-failover", null, -1, "bench")));
        processes[victim].Kill(entireProcessTree: true);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var (newId, _, _) = await ViewAsync(witness);
            if (newId is not null && newId != serverId && ids.TryGetValue(newId, out var k) && await TryLookupAsync(new IPEndPoint(IPAddress.Parse(lan.Address(k)), 47470), request))
            {
                var took = clock.Elapsed.TotalSeconds;
                foreach (var p in processes.Values)
                {
                    p.Kill(entireProcessTree: true);
                }

                return took;
            }

            await Task.Delay(20);
        }

        throw new InvalidOperationException("no lookup answered by a new server within 30 s");
    }

    private static async Task<bool> TryLookupAsync(IPEndPoint server, byte[] request)
    {
        var listener = new EventBasedNetListener();
        var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.PeerConnectedEvent += peer => peer.Send(request, DeliveryMethod.ReliableUnordered);
        listener.NetworkReceiveEvent += (_, reader, _, _) => answered.TrySetResult(WireCodec.TryDecode(reader.GetRemainingBytesMemory()).Envelope?.Body is LookupResult);
        var net = new NetManager(listener) { UnsyncedEvents = true };
        net.Start(IPAddress.Any, IPAddress.IPv6Any, 0);
        try
        {
            net.Connect(server, "PeerPatch/1");
            return await answered.Task.WaitAsync(TimeSpan.FromMilliseconds(500));
        }
        catch (TimeoutException)
        {
            return false;
        }
        finally
        {
            net.Stop();
        }
    }
}
