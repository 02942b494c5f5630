using System.Net;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// Advertises one service (RFC 6762 §8, §10.1, §6): three probes 250 ms apart claim the instance name (a
/// conflicting answer renames it "Name (2)", "Name (3)"...), two announcements one second apart, answers to
/// queries (multicast, QU unicast, legacy unicast for queries not from port 5353, shared PTR answers delayed
/// 20-120 ms), a re-announcement when the TXT changes, and goodbyes (TTL 0) on stop. A query with the TC bit is
/// answered 400-500 ms later, with the known answers of the packets its sender sent meanwhile (§7.2): on a LAN of
/// 500 nodes a browser's known answers take many packets, and answering the first would make every node answer.
/// Every send and every change of the advert hold one gate, and a delayed answer is built after its delay from the
/// advert current then: once <see cref="StopAsync"/> began, nothing but its goodbye leaves (a TTL&gt;0 record within
/// the goodbye's one-second grace would keep us in other caches for the record's whole TTL, §10.1), and an answer
/// never carries the TXT of before a change.
/// </summary>
internal sealed partial class MdnsResponder(IMdnsTransport transport, MdnsOptions options, TimeProvider time, IRandomSource random, ILogger<MdnsResponder> logger)
{
    private const int MaxRenames = 20;

    /// <summary>Most truncated queries waited on at once (one per sender); more are answered without waiting.</summary>
    private const int MaxPendingQueries = 1024;

    /// <summary>Most known answers gathered for one truncated query (a LAN of 500 nodes lists ~500).</summary>
    private const int MaxPendingAnswers = 8192;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<IPEndPoint, PendingQuery> _pending = new();

    /// <summary>When each of our records (by interface, name and type) was last multicast in an answer (§6).</summary>
    private readonly Dictionary<(int Interface, DnsName Name, DnsType Type), DateTimeOffset> _lastMulticast = [];

    /// <summary>RFC 6762 §6: a record is multicast on an interface at most once per second (a probe's defence excepted).</summary>
    private static readonly TimeSpan MulticastInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an advert we replaced (a TXT change) still counts as ours: our own packets come back by multicast
    /// loopback, and one sent just before the change may be read just after it. Loopback takes microseconds; the
    /// margin is for a receive loop starved on a loaded host. Another host answering with our data is no conflict
    /// either way (§9 is about other data), so a long grace hides nothing but a replay of our own recent words.
    /// </summary>
    private static readonly TimeSpan OwnEchoGrace = TimeSpan.FromSeconds(5);

    /// <summary>Most replaced adverts remembered (an election changes the TXT a few times in a second at most).</summary>
    private const int MaxReplaced = 16;

    /// <summary>Held by every send and every change of <see cref="_advert"/>, so the goodbye is the last packet.</summary>
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Adverts we replaced, and until when their records still count as ours (<see cref="OwnEchoGrace"/>).</summary>
    private readonly List<(ServiceAdvert Advert, DateTimeOffset Until)> _replaced = [];
    private volatile bool _stopped;
    private volatile ServiceAdvert? _advert;
    private volatile IReadOnlyDictionary<string, string>? _txt;
    private volatile bool _announced;
    private volatile bool _probing;
    private volatile bool _conflict;

    public ServiceAdvert? Current => _advert;

    public async Task StartAsync(ServiceAdvert advert, CancellationToken ct)
    {
        transport.Received += OnReceived;
        var baseName = advert.Instance;
        _txt ??= advert.Txt;
        for (var attempt = 1; ; attempt++)
        {
            if (!await SetAdvertAsync(advert, ct).ConfigureAwait(false))
            {
                return; // stopped
            }

            if (await ProbeAsync(ct).ConfigureAwait(false) || attempt >= MaxRenames)
            {
                break;
            }

            advert = advert with { Instance = $"{baseName} ({attempt + 1})" };
            Log.Renamed(logger, advert.Instance);
        }

        if (await SetAdvertAsync(advert, ct, announced: true).ConfigureAwait(false))
        {
            await AnnounceAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Changes the TXT pairs; announces them at once when probing is over, else with the first announcement.</summary>
    public async Task UpdateTxtAsync(IReadOnlyDictionary<string, string> txt, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        bool announce;
        try
        {
            if (_stopped)
            {
                return;
            }

            _txt = txt;
            announce = _announced && _advert is not null;
            if (announce)
            {
                Replace(_advert! with { Txt = txt });
            }
        }
        finally
        {
            _gate.Release();
        }

        if (announce)
        {
            await AnnounceAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Sends the goodbyes (TTL 0) for an announced name: the last packet of this responder, whatever is still waiting to be sent.</summary>
    public async Task StopAsync()
    {
        transport.Received -= OnReceived;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _stopped = true;
            var advert = _advert;
            _advert = null;
            if (advert is not null && _announced)
            {
                // Only a name we announced: one we were still probing may be another host's (it may have won it), and a
                // goodbye for its PTR (the same name and data as ours) would remove that host from every cache.
                await transport.SendMulticastAsync(nic => DnsMessage.Response(advert.Records(nic, options, ttlOverride: 0))).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Makes <paramref name="advert"/> (with the latest TXT) current, unless stopped (false).</summary>
    private async Task<bool> SetAdvertAsync(ServiceAdvert advert, CancellationToken ct, bool announced = false)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_stopped)
            {
                return false;
            }

            Replace(advert with { Txt = _txt! });
            _announced = announced;
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Makes <paramref name="next"/> current (holding the gate); the one it replaces stays ours for a while.</summary>
    private void Replace(ServiceAdvert next)
    {
        if (_advert is { } previous && previous != next)
        {
            var now = time.MonotonicNow();
            lock (_replaced)
            {
                _replaced.RemoveAll(r => r.Until < now);
                if (_replaced.Count >= MaxReplaced)
                {
                    _replaced.RemoveAt(0);
                }

                _replaced.Add((previous, now + OwnEchoGrace));
            }
        }

        _advert = next;
    }

    /// <summary>
    /// Whether <paramref name="record"/> is one of ours: current, or of an advert replaced within <see cref="OwnEchoGrace"/>
    /// (our own packet, sent just before a TXT change and looped back just after it).
    /// </summary>
    private bool IsOurs(DnsRecord record, IReadOnlyList<DnsRecord> ours, MdnsInterface nic)
    {
        if (ours.Any(o => MdnsAnswers.SameData(o, record)))
        {
            return true;
        }

        var now = time.MonotonicNow();
        lock (_replaced)
        {
            foreach (var (advert, until) in _replaced)
            {
                if (until >= now && advert.Records(nic, options).Any(o => MdnsAnswers.SameData(o, record)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Runs <paramref name="send"/> with the advert current now, holding the gate; nothing once stopped.</summary>
    private async Task SendAsync(Func<ServiceAdvert, Task> send)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_stopped && _advert is { } advert)
            {
                await send(advert).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<bool> ProbeAsync(CancellationToken ct)
    {
        _probing = true;
        _conflict = false;
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(random.NextDouble() * 250), time, ct).ConfigureAwait(false);
            for (var i = 0; i < 3 && !_conflict; i++)
            {
                await SendAsync(advert => transport.SendMulticastAsync(nic =>
                {
                    // §8.1-8.2: probe the instance and host names, proposing their records in the authority section.
                    var proposed = advert.Records(nic, options).Where(r => r.Name.Equals(advert.InstanceName) || r.Name.Equals(advert.Host)).ToList();
                    return new DnsMessage(
                        0, false, false,
                        [new DnsQuestion(advert.InstanceName, DnsType.Any, UnicastResponse: true), new DnsQuestion(advert.Host, DnsType.Any, UnicastResponse: true)],
                        [], proposed, []);
                })).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(250), time, ct).ConfigureAwait(false);
            }

            return !_conflict;
        }
        finally
        {
            _probing = false;
        }
    }

    private async Task AnnounceAsync(CancellationToken ct)
    {
        for (var i = 0; i < 2 && !_stopped; i++)
        {
            await SendAsync(advert => transport.SendMulticastAsync(nic => DnsMessage.Response(advert.Records(nic, options)))).ConfigureAwait(false);
            if (i == 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, ct).ConfigureAwait(false);
            }
        }
    }

    private void OnReceived(DnsMessage message, IPEndPoint from, int interfaceIndex)
    {
        var advert = _advert;
        var nic = transport.Interface(interfaceIndex);
        if (advert is null || nic is null)
        {
            return;
        }

        var ours = advert.Records(nic, options);
        if (message.IsResponse)
        {
            // Someone else answering for our instance name with other data: a conflict (§9). Data we advertised
            // moments ago is our own packet looped back (multicast loopback), whatever address it comes from: several
            // nodes may share a host, so the source address proves nothing either way.
            if (message.AllRecords.Any(r => r.Name.Equals(advert.InstanceName) && r is SrvRecord or TxtRecord && !IsOurs(r, ours, nic)))
            {
                _conflict = true;
                if (!_probing)
                {
                    Log.Conflict(logger, advert.Instance, from);
                }
            }

            return;
        }

        if (_probing)
        {
            return;
        }

        if (_pending.TryGetValue(from, out var pending) && pending.Add(message))
        {
            return; // more known answers of a truncated query: answered when its wait ends
        }

        if (message.Truncated && message.Questions.Count > 0 && from.Port == options.Port && _pending.Count < MaxPendingQueries)
        {
            var waiting = new PendingQuery(message);
            if (_pending.TryAdd(from, waiting))
            {
                _ = RespondToTruncatedAsync(waiting, from, interfaceIndex);
                return;
            }
        }

        var (answers, _) = MdnsAnswers.For(message, ours);
        if (answers.Count == 0)
        {
            return;
        }

        // A shared (PTR) answer to a multicast query waits 20-120 ms (§6); unicast replies leave at once.
        var multicast = from.Port == options.Port && !message.Questions.Any(q => q.UnicastResponse);
        _ = RespondAsync(message, from, interfaceIndex, delay: multicast && answers.Any(a => a is PtrRecord));
    }

    private async Task RespondToTruncatedAsync(PendingQuery pending, IPEndPoint from, int interfaceIndex)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(400 + (random.NextDouble() * 100)), time).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(from, out _);
        }

        await RespondAsync(pending.Merged(), from, interfaceIndex, delay: false).ConfigureAwait(false);
    }

    /// <summary>
    /// Answers <paramref name="query"/> (after the shared-answer delay when <paramref name="delay"/>), from the advert
    /// current when the answer is sent: none once stopping began, and never the TXT of before a change.
    /// </summary>
    private async Task RespondAsync(DnsMessage query, IPEndPoint from, int interfaceIndex, bool delay)
    {
        try
        {
            if (delay)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20 + (random.NextDouble() * 100)), time).ConfigureAwait(false);
            }

            await SendAsync(advert => SendAnswersAsync(advert, query, from, interfaceIndex)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.RespondFailed(logger, e.Message);
        }
    }

    private async Task SendAnswersAsync(ServiceAdvert advert, DnsMessage query, IPEndPoint from, int interfaceIndex)
    {
        if (transport.Interface(interfaceIndex) is not { } nic)
        {
            return;
        }

        var (answers, additionals) = MdnsAnswers.For(query, advert.Records(nic, options));
        if (answers.Count == 0)
        {
            return;
        }

        if (from.Port != options.Port)
        {
            await transport.SendUnicastAsync(MdnsAnswers.LegacyUnicast(query, answers, additionals), from, interfaceIndex).ConfigureAwait(false);
            return;
        }

        if (query.Questions.Any(q => q.UnicastResponse))
        {
            await transport.SendUnicastAsync(DnsMessage.Response(answers, additionals), from, interfaceIndex).ConfigureAwait(false);
            return;
        }

        if (query.Authorities.Count == 0)
        {
            // Not a probe: drop answers multicast on this interface within the last second (the same query over
            // IPv4 and IPv6, several browsers refreshing one record at once); all of them, and nothing is sent.
            answers = RateLimited(answers, interfaceIndex);
            if (answers.Count == 0)
            {
                return;
            }
        }

        await transport.SendMulticastAsync(_ => DnsMessage.Response(answers, additionals), interfaceIndex).ConfigureAwait(false);
    }

    private List<DnsRecord> RateLimited(List<DnsRecord> answers, int interfaceIndex)
    {
        var now = time.MonotonicNow();
        var kept = new List<DnsRecord>(answers.Count);
        lock (_lastMulticast)
        {
            foreach (var record in answers)
            {
                var key = (interfaceIndex, record.Name, record.Type);
                if (_lastMulticast.TryGetValue(key, out var last) && now - last < MulticastInterval && now >= last)
                {
                    continue;
                }

                _lastMulticast[key] = now;
                kept.Add(record);
            }
        }

        return kept;
    }
}
