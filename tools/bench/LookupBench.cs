using System.Diagnostics;
using System.Net;
using LiteNetLib;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Bench;

/// <summary>
/// Lookup round trips over LiteNetLib on loopback: one MessagePack Lookup answered by the node's in-memory index
/// (a hit), sequentially per client. The reference is the transport's floor: an in-process LiteNetLib echo of a
/// datagram of the same size, measured the same way.
/// </summary>
internal static class LookupBench
{
    /// <summary>Round trips that got no answer within 5 s (printed by the bench; 0 in a sound run).</summary>
    public static long Lost;

    public sealed record Result(double P50Micros, double P99Micros, double PerSecond);

    public static async Task<Result> RunAsync(IPEndPoint target, byte[] request, int clients, TimeSpan duration, string connectionKey)
    {
        var runners = new List<Client>();
        for (var i = 0; i < clients; i++)
        {
            runners.Add(await Client.ConnectAsync(target, connectionKey));
        }

        try
        {
            foreach (var c in runners)
            {
                for (var w = 0; w < 500; w++)
                {
                    await c.RoundTripAsync(request); // warm-up: JIT, buffers
                }
            }

            var watch = Stopwatch.StartNew();
            var samples = await Task.WhenAll(runners.Select(c => Task.Run(async () =>
            {
                var mine = new List<double>(200_000);
                while (watch.Elapsed < duration)
                {
                    mine.Add((await c.RoundTripAsync(request)).TotalMicroseconds);
                }

                return mine;
            })));
            var elapsed = watch.Elapsed.TotalSeconds;
            var all = samples.SelectMany(s => s).ToList();
            return new Result(Stats.Percentile(all, 0.5), Stats.Percentile(all, 0.99), all.Count / elapsed);
        }
        finally
        {
            runners.ForEach(r => r.Stop());
        }
    }

    /// <summary>
    /// Throughput with <paramref name="window"/> lookups in flight per client (a PC asks for many patches at once):
    /// what one server answers per second when the clients are not the bottleneck's round trip.
    /// </summary>
    public static async Task<double> PipelinedAsync(IPEndPoint target, byte[] request, int clients, int window, TimeSpan duration, string connectionKey)
    {
        var runners = new List<Client>();
        for (var i = 0; i < clients; i++)
        {
            runners.Add(await Client.ConnectAsync(target, connectionKey));
        }

        try
        {
            var watch = Stopwatch.StartNew();
            var counts = await Task.WhenAll(runners.Select(c => Task.Run(() => c.PipelineAsync(request, window, duration))));
            return counts.Sum() / watch.Elapsed.TotalSeconds;
        }
        finally
        {
            runners.ForEach(r => r.Stop());
        }
    }

    /// <summary>A LiteNetLib server that sends every datagram back as it came (the reference).</summary>
    public static NetManager StartEcho(out int port)
    {
        var listener = new EventBasedNetListener();
        var net = new NetManager(listener) { UnsyncedEvents = true, UseNativeSockets = true, AutoRecycle = true };
        listener.ConnectionRequestEvent += r => r.AcceptIfKey("echo");
        listener.NetworkReceiveEvent += (peer, reader, _, method) =>
        {
            peer.Send(reader.GetRemainingBytesSpan(), 0, method);
            net.TriggerUpdate();
        };
        net.Start(IPAddress.Loopback, IPAddress.IPv6Any, 0);
        port = net.LocalPort;
        return net;
    }

    public static byte[] LookupRequest(string os, string name, string sha256, long size) =>
        WireCodec.Encode(Envelope.Of(1, new Lookup(os, name, sha256, size, "bench")));

    private sealed class Client
    {
        private readonly NetManager _net;
        private readonly NetPeer _peer;
        private TaskCompletionSource? _reply;
        private SemaphoreSlim? _window;
        private long _replies;

        private Client(NetManager net, NetPeer peer, EventBasedNetListener listener)
        {
            _net = net;
            _peer = peer;
            listener.NetworkReceiveEvent += (_, _, _, _) =>
            {
                Interlocked.Increment(ref _replies);
                _window?.Release();
                _reply?.TrySetResult();
            };
        }

        public async Task<long> PipelineAsync(byte[] request, int window, TimeSpan duration)
        {
            _window = new SemaphoreSlim(window, int.MaxValue);
            var before = Interlocked.Read(ref _replies);
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < duration)
            {
                if (!await _window.WaitAsync(TimeSpan.FromSeconds(5)))
                {
                    throw new TimeoutException("no replies for 5 s");
                }

                _peer.Send(request, DeliveryMethod.ReliableUnordered);
                _net.TriggerUpdate();
            }

            var answered = Interlocked.Read(ref _replies) - before;
            _window = null;
            return answered;
        }

        public static async Task<Client> ConnectAsync(IPEndPoint target, string key)
        {
            var listener = new EventBasedNetListener();
            var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            listener.PeerConnectedEvent += _ => connected.TrySetResult();
            var net = new NetManager(listener) { UnsyncedEvents = true, UseNativeSockets = true, AutoRecycle = true };
            net.Start(IPAddress.Loopback, IPAddress.IPv6Any, 0);
            var peer = net.Connect(target, key)!;
            await connected.Task.WaitAsync(TimeSpan.FromSeconds(5));
            return new Client(net, peer, listener);
        }

        public async Task<TimeSpan> RoundTripAsync(byte[] request)
        {
            var reply = new TaskCompletionSource(); // completed on the receive thread, which then runs the next send
            _reply = reply;
            var started = Stopwatch.GetTimestamp();
            _peer.Send(request, DeliveryMethod.ReliableUnordered);
            _net.TriggerUpdate();
            try
            {
                await reply.Task.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (TimeoutException)
            {
                Interlocked.Increment(ref Lost); // counted, and its 5 s kept as the sample: it shows in the percentiles
                Console.Error.WriteLine("lookup bench: no answer within 5 s");
            }

            return Stopwatch.GetElapsedTime(started);
        }

        public void Stop() => _net.Stop();
    }
}
