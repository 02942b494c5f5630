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
        using var group = await Clients.ConnectAsync(target, clients, connectionKey);
        await group.WarmUpAsync(request);
        var (samples, elapsed) = await group.RoundTripsAsync(request, duration);
        return new Result(Stats.Percentile(samples, 0.5), Stats.Percentile(samples, 0.99), samples.Count / elapsed.TotalSeconds);
    }

    /// <summary>
    /// Throughput with <paramref name="window"/> lookups in flight per client (a PC asks for many patches at once):
    /// what one server answers per second when the clients are not the bottleneck's round trip.
    /// </summary>
    public static async Task<double> PipelinedAsync(IPEndPoint target, byte[] request, int clients, int window, TimeSpan duration, string connectionKey)
    {
        using var group = await Clients.ConnectAsync(target, clients, connectionKey);
        var (answered, elapsed) = await group.PipelinedAsync(request, window, duration);
        return answered / elapsed.TotalSeconds;
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

    /// <summary>A lookup as a node asks it (<see cref="Lookup.CompactHit"/> set, as RemoteServerChannel sends it).</summary>
    public static byte[] LookupRequest(string os, string name, string sha256, long size) =>
        WireCodec.Encode(Envelope.Of(1, new Lookup(os, name, sha256, size, "bench", CompactHit: true)));

    /// <summary>
    /// Clients connected to one node and kept between measured spells, so that a scenario can alternate short spells
    /// between two nodes (LookupBuildsScenario) without a connection's set-up inside any of them.
    /// </summary>
    public sealed class Clients : IDisposable
    {
        private readonly List<Client> _all;

        private Clients(List<Client> all) => _all = all;

        public static async Task<Clients> ConnectAsync(IPEndPoint target, int count, string connectionKey)
        {
            var all = new List<Client>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    all.Add(await Client.ConnectAsync(target, connectionKey));
                }
            }
            catch
            {
                all.ForEach(c => c.Stop());
                throw;
            }

            return new Clients(all);
        }

        /// <summary>500 round trips per client, unmeasured: JIT, buffers.</summary>
        public async Task WarmUpAsync(byte[] request)
        {
            foreach (var c in _all)
            {
                for (var w = 0; w < 500; w++)
                {
                    await c.RoundTripAsync(request);
                }
            }
        }

        /// <summary>Every client one lookup at a time for <paramref name="duration"/>: each round trip in µs, and the time taken.</summary>
        public async Task<(List<double> Samples, TimeSpan Elapsed)> RoundTripsAsync(byte[] request, TimeSpan duration)
        {
            var watch = Stopwatch.StartNew();
            var samples = await Task.WhenAll(_all.Select(c => Task.Run(async () =>
            {
                var mine = new List<double>(200_000);
                while (watch.Elapsed < duration)
                {
                    mine.Add((await c.RoundTripAsync(request)).TotalMicroseconds);
                }

                return mine;
            })));
            var elapsed = watch.Elapsed;
            return (samples.SelectMany(s => s).ToList(), elapsed);
        }

        /// <summary>Every client with <paramref name="window"/> lookups in flight for <paramref name="duration"/>: lookups answered in it, and the time taken.</summary>
        public async Task<(long Answered, TimeSpan Elapsed)> PipelinedAsync(byte[] request, int window, TimeSpan duration)
        {
            var watch = Stopwatch.StartNew();
            var counts = await Task.WhenAll(_all.Select(c => Task.Run(() => c.PipelineAsync(request, window, duration))));
            return (counts.Sum(), watch.Elapsed);
        }

        public void Dispose() => _all.ForEach(c => c.Stop());
    }

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

            // Drain: every lookup sent in this spell is answered within it, so no late reply counts, or frees a permit,
            // in the client's next spell (the builds scenario runs spells of one node back to back: A B B A).
            for (var i = 0; i < window; i++)
            {
                if (!await _window.WaitAsync(TimeSpan.FromSeconds(5)))
                {
                    throw new TimeoutException("no replies for 5 s");
                }
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
            try
            {
                var peer = net.Connect(target, key)!;
                await connected.Task.WaitAsync(TimeSpan.FromSeconds(5));
                return new Client(net, peer, listener);
            }
            catch
            {
                net.Stop();
                throw;
            }
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
