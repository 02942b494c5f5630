using System.Diagnostics;
using System.Net;
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
        var processes = new Dictionary<int, Process>();
        for (var k = 1; k <= nodes; k++)
        {
            processes[k] = await lan.StartNodeAsync(repo, k, work);
        }

        var (serverId, ids) = await lan.AgreedServerAsync(nodes, TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(3)); // steady state
        var victim = ids[serverId];
        var witness = victim == 1 ? 2 : 1;
        var request = WireCodec.Encode(Envelope.Of(7, new Lookup("bench-1-amd64", "KB-failover", null, -1, "bench")));
        processes[victim].Kill(entireProcessTree: true);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var (newId, _, _) = await lan.ViewAsync(witness);
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
