using System.Net;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// Browses one service type (RFC 6762 §5.2): the first query after 20-120 ms, then at intervals that double from
/// one second up to one hour, each listing the known answers (split over packets of one frame with the TC bit when
/// they do not fit one, §7.2); cached PTRs and SRVs are refreshed at 80-95 % of their TTL; instances without SRV/TXT
/// are asked for directly, with a back-off (<see cref="BrowseCache"/>). Every response seen on the LAN feeds the cache, so nodes
/// also learn from each other's announcements.
/// </summary>
internal sealed partial class MdnsBrowser(MdnsTransport transport, DnsName serviceType, TimeProvider time, IRandomSource random, ILogger<MdnsBrowser> logger)
{
    private static readonly TimeSpan MaxInterval = TimeSpan.FromHours(1);
    private readonly BrowseCache _cache = new(serviceType, random.NextDouble);
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

                if (now >= nextQuery)
                {
                    await QueryAsync(now).ConfigureAwait(false);
                    nextQuery = now + interval;
                    interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, MaxInterval.Ticks));
                }
                else if (_cache.NeedsRefresh(now))
                {
                    await QueryAsync(now).ConfigureAwait(false); // a refresh does not push the next scheduled query back
                }

                var unresolved = _cache.Unresolved(now);
                if (unresolved.Count > 0)
                {
                    _cache.Asked(unresolved, now);
                    var questions = unresolved.SelectMany(n => new[] { new DnsQuestion(n, DnsType.Srv), new DnsQuestion(n, DnsType.Txt) }).ToList();
                    foreach (var packet in MdnsQueryPackets.Build(questions, []))
                    {
                        await transport.SendMulticastAsync(packet).ConfigureAwait(false);
                    }
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

    private async Task QueryAsync(DateTimeOffset now)
    {
        var known = _cache.KnownAnswers(now);
        _cache.Refreshed(now);
        foreach (var packet in MdnsQueryPackets.Build([new DnsQuestion(serviceType, DnsType.Ptr)], known))
        {
            await transport.SendMulticastAsync(packet).ConfigureAwait(false); // in order: the TC packets first
        }
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
