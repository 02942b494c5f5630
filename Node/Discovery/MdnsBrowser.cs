using System.Net;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// Browses one service type (RFC 6762 §5.2): the first query after 20-120 ms, then at intervals that double from
/// one second up to one hour, each listing the known answers; cached PTRs are refreshed at 80 % of their TTL;
/// instances without SRV/TXT are asked for directly. Every response seen on the LAN feeds the cache, so nodes
/// also learn from each other's announcements.
/// </summary>
internal sealed partial class MdnsBrowser(MdnsTransport transport, DnsName serviceType, TimeProvider time, IRandomSource random, ILogger<MdnsBrowser> logger)
{
    private static readonly TimeSpan MaxInterval = TimeSpan.FromHours(1);
    private readonly BrowseCache _cache = new(serviceType);
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Raised (on a pool thread) when an instance appears, changes or vanishes.</summary>
    public event Action<IReadOnlyList<DiscoveredService>>? Changed;

    public IReadOnlyList<DiscoveredService> Services => _cache.Snapshot();

    public async Task RunAsync(CancellationToken ct)
    {
        transport.Received += OnReceived;
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20 + (random.NextDouble() * 100)), time, ct).ConfigureAwait(false);
            var interval = TimeSpan.FromSeconds(1);
            var nextQuery = time.MonotonicNow(); // TTLs and query times must not follow wall-clock jumps
            while (!ct.IsCancellationRequested)
            {
                var now = time.MonotonicNow();
                if (_cache.Expire(now))
                {
                    Changed?.Invoke(_cache.Snapshot());
                }

                if (now >= nextQuery || _cache.NeedsRefresh(now))
                {
                    await QueryAsync(now).ConfigureAwait(false);
                    nextQuery = now + interval;
                    interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, MaxInterval.Ticks));
                }

                var unresolved = _cache.Unresolved(now);
                if (unresolved.Count > 0)
                {
                    var questions = unresolved.SelectMany(n => new[] { new DnsQuestion(n, DnsType.Srv), new DnsQuestion(n, DnsType.Txt) }).ToArray();
                    await transport.SendMulticastAsync(DnsMessage.Query(questions)).ConfigureAwait(false);
                }

                // Wake every second to expire records, or at once when a packet changed something.
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            transport.Received -= OnReceived;
        }
    }

    private Task QueryAsync(DateTimeOffset now)
    {
        var query = new DnsMessage(0, false, false, [new DnsQuestion(serviceType, DnsType.Ptr)], _cache.KnownAnswers(now), [], []);
        return transport.SendMulticastAsync(query);
    }

    private void OnReceived(DnsMessage message, IPEndPoint from, int interfaceIndex)
    {
        // Responses, and also probes: a probe's authority section proposes the prober's SRV, TXT and address
        // (RFC 6762 §8.2), so a new node is known ~0.25 s after it starts instead of after its announcement.
        var records = message.IsResponse ? message.AllRecords : message.Authorities;
        if (_cache.Apply(records, time.MonotonicNow()))
        {
            var snapshot = _cache.Snapshot();
            Log.Changed(logger, snapshot.Count, from);
            Changed?.Invoke(snapshot);
            if (_wake.CurrentCount == 0)
            {
                _wake.Release(); // resolve new instances now, not at the next tick
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 620, Level = LogLevel.Debug, Message = "mDNS browse: {Count} instances after a packet from {From}")]
        public static partial void Changed(ILogger logger, int count, IPEndPoint from);
    }
}
