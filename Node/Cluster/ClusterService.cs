using System.Globalization;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Discovery;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Mdns;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// Zero-config membership: advertises this node as &lt;peerpatch-ID&gt;._peerpatch._udp.local (SRV: the LiteNetLib
/// port; TXT: v, id, role, term, http, prio, since, cluster), browses for the others, feeds them and the
/// servers' heartbeats to the <see cref="Elector"/> every <see cref="ElectionTiming.TickPeriod"/> (100 ms), and publishes its decisions as the
/// <see cref="ClusterState"/> view (persisting the term). A server heartbeats every member it knows.
/// With a configured role the view is fixed; the node still advertises itself, and a configured server
/// heartbeats so that zero-config nodes follow it.
/// With a cluster key, TXT "cluster" carries the key's public id (adverts of other clusters are ignored) and
/// an advertised node becomes a member only once <see cref="MemberVerifier"/> has its sealed proof.
/// </summary>
internal sealed partial class ClusterService(
    ClusterState state,
    ClusterOptions options,
    NodeIdentity self,
    NodeStartTime started,
    HttpEndpointInfo http,
    LanTransport transport,
    PatchDatabase db,
    BlobStore store,
    TimeProvider time,
    IRandomSource random,
    Security.ClusterAuth auth,
    ILoggerFactory loggers,
    IHeartbeatTally? tally = null) : BackgroundService
{
    public static readonly DnsName ServiceType = DnsName.Parse("_peerpatch._udp.local");

    /// <summary>The type Debian's squid-deb-proxy-client and auto-apt-proxy browse for: apt finds this node's proxy.</summary>
    public static readonly DnsName AptProxyType = DnsName.Parse("_apt_proxy._tcp.local");
    private readonly ILogger _logger = loggers.CreateLogger<ClusterService>();
    private readonly ElectorReport _report = new(loggers.CreateLogger<Elector>());
    private readonly object _lock = new();
    private readonly Dictionary<string, IPEndPoint> _endpoints = new(StringComparer.Ordinal);
    private Elector? _elector;
    private MdnsResponder? _responder;
    private IReadOnlyList<Member> _members = [];
    private readonly Dictionary<string, DateTimeOffset> _heartbeats = new(StringComparer.Ordinal);
    private readonly MemberVerifier _verifier = new(self.NodeId);
    private readonly string _clusterId = auth.Key?.ClusterId ?? string.Empty;
    private IReadOnlyList<Member> _candidates = [];
    private long _proofBudget = ProofsPerSecond;
    private DateTimeOffset _proofBudgetAt;
    private MdnsTransport? _mdns;
    private MdnsBrowser? _browser;
    private Decision? _unapplied; // a decision whose term could not be stored: acted on again at the next tick

    /// <summary>Most membership proofs this node sends per second (a replayed or spoofed probe flood is no amplifier).</summary>
    private const int ProofsPerSecond = 1000;

    /// <summary>The members discovery knows now (self excluded).</summary>
    public IReadOnlyList<Member> Members => _members;

    public int Priority { get; } = options.Priority ?? DerivedPriority(store);

    /// <summary>mDNS traffic counters and interfaces (zeros when discovery is off or unavailable).</summary>
    public MdnsStatus Mdns => _mdns is { } m
        ? new MdnsStatus(m.Interfaces.Select(i => i.Name).ToList(), m.PacketsReceived, m.PacketsSent, m.Malformed)
        : new MdnsStatus([], 0, 0, 0);

    /// <summary>The members as GET /v1/members shows them, last seen = latest mDNS record or server heartbeat.</summary>
    public IReadOnlyList<MemberStatus> MemberStatuses()
    {
        var seen = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        void See(string id, DateTimeOffset at)
        {
            if (!seen.TryGetValue(id, out var t) || t < at)
            {
                seen[id] = at;
            }
        }

        foreach (var s in _browser?.Services ?? [])
        {
            if (s.Txt.TryGetValue("id", out var id))
            {
                See(id, s.LastSeen);
            }
        }

        lock (_lock)
        {
            foreach (var (id, at) in _heartbeats)
            {
                See(id, at);
            }
        }

        return _members.Select(m => new MemberStatus(
            m.NodeId, m.Address.ToString(), m.UdpPort, m.HttpPort, m.IsServer ? "server" : "client", m.Term, m.Priority, m.Since,
            seen.GetValueOrDefault(m.NodeId))).ToList();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Discovery)
        {
            return;
        }

        var mdnsOptions = new MdnsOptions { Interfaces = options.MdnsInterfaces, Port = options.MdnsPort };
        await using var mdns = new MdnsTransport(mdnsOptions, time, loggers.CreateLogger<MdnsTransport>());
        try
        {
            mdns.Start();
        }
        catch (System.Net.Sockets.SocketException e)
        {
            // Without mDNS this node cannot find peers; it keeps updating (from the internet, or a configured server).
            Log.MdnsUnavailable(_logger, mdnsOptions.Port, e.Message);
            return;
        }

        _mdns = mdns;
        var browser = new MdnsBrowser(mdns, ServiceType, time, random, loggers.CreateLogger<MdnsBrowser>());
        _browser = browser;
        _responder = new MdnsResponder(mdns, mdnsOptions, time, random, loggers.CreateLogger<MdnsResponder>());
        var since = started.At.ToUnixTimeMilliseconds();
        var stored = db.GetMeta("term");
        if (!TermGuard.TryParseStored(stored, out var term) && stored is not null)
        {
            // A corrupt or forged-into-overflow term would keep this node out of every election: start over.
            Log.StoredTermReset(_logger, long.TryParse(stored, CultureInfo.InvariantCulture, out var bad) ? bad.ToString(CultureInfo.InvariantCulture) : "not a number", TermGuard.Max);
            db.SetMeta("term", "0");
        }

        lock (_lock)
        {
            _elector = state.Elects ? new Elector(self.NodeId, Priority, since, term, ElectionTiming.Default, time.MonotonicNow()) : null;
        }

        browser.Changed += OnServices;
        transport.HeartbeatReceived += OnHeartbeat;
        transport.ProbeReceived += OnProbe;
        transport.ProofReceived += OnProof;
        var browsing = browser.RunAsync(stoppingToken);
        var advertising = _responder.StartAsync(Advert(since), stoppingToken); // probing and announcing take ~2 s: elect meanwhile
        var aptResponder = options.AptProxyAdvert ? new MdnsResponder(mdns, mdnsOptions, time, random, loggers.CreateLogger<MdnsResponder>()) : null;
        var aptAdvertising = aptResponder?.StartAsync(
            new ServiceAdvert($"peerpatch-apt-{self.NodeId}", AptProxyType, DnsName.Parse($"pp-{self.NodeId}.local"), (ushort)http.Port, new Dictionary<string, string> { ["id"] = self.NodeId }),
            stoppingToken) ?? Task.CompletedTask;
        Log.Advertising(_logger, self.NodeId, Priority, state.Elects ? "elected" : "configured");
        try
        {
            await RunAsync(since, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            browser.Changed -= OnServices;
            transport.HeartbeatReceived -= OnHeartbeat;
            transport.ProbeReceived -= OnProbe;
            transport.ProofReceived -= OnProof;
            try
            {
                await Task.WhenAll(advertising, aptAdvertising).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            await _responder.StopAsync().ConfigureAwait(false); // goodbye: TTL 0
            if (aptResponder is not null)
            {
                await aptResponder.StopAsync().ConfigureAwait(false);
            }
            await browsing.ConfigureAwait(false);
        }
    }

    private async Task RunAsync(long since, CancellationToken ct)
    {
        var lastBeat = DateTimeOffset.MinValue;
        using var timer = new PeriodicTimer(ElectionTiming.Default.TickPeriod, time);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            try
            {
                var now = time.MonotonicNow(); // elections and heartbeats never follow the wall clock's jumps
                try
                {
                    if (transport.Keyed && (_members.Count < _candidates.Count || _verifier.Unsettled))
                    {
                        UpdateMembers(now); // candidates still unproven: probe again
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.TickFailed(_logger, e); // the rest of this tick still runs: a failing probe must not cost a new server's heartbeats (the elector already ticked in UpdateMembers)
                }

                lock (_lock)
                {
                    if (_elector is not null)
                    {
                        RetryUnapplied();
                        Apply(_elector.Tick(now));
                    }
                }

                if (state.IsServer && now - lastBeat >= ElectionTiming.Default.HeartbeatInterval)
                {
                    lastBeat = now;
                    var (day, used) = tally?.Today() ?? (0, 0);
                    var beat = new Heartbeat(self.NodeId, state.Current.Term, Priority, since, http.Port, day, used);
                    foreach (var member in _members)
                    {
                        transport.SendUnconnected(beat, member.NodeId, new IPEndPoint(member.Address, member.UdpPort));
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.TickFailed(_logger, e); // one bad tick (a full disk persisting the term, a socket error) must not stop the node
            }
        }
    }

    private void OnServices(IReadOnlyList<DiscoveredService> services)
    {
        var candidates = new List<Member>();
        foreach (var s in services)
        {
            if (ToMember(s, _clusterId) is { } m && m.NodeId != self.NodeId)
            {
                candidates.Add(m);
            }
        }

        _candidates = candidates;
        UpdateMembers(time.MonotonicNow());
    }

    private void UpdateMembers(DateTimeOffset now)
    {
        List<Member> members;
        var probes = new List<(MemberProbe Probe, string ToId, IPEndPoint To, bool Suspicious)>();
        var conflicts = new List<(Member Advert, IPEndPoint ProvenAt)>();
        lock (_lock)
        {
            var candidates = _candidates;
            if (transport.Keyed)
            {
                _verifier.Retain(candidates.Select(c => c.NodeId));
                members = _verifier.Filter(candidates, now, probes, conflicts);
            }
            else
            {
                members = [.. candidates];
            }

            _members = members;
            foreach (var m in members)
            {
                _endpoints[m.NodeId] = new IPEndPoint(m.Address, m.UdpPort);
            }

            if (_elector is not null)
            {
                Apply(_elector.OnMembers(members, now));
            }
        }

        foreach (var (advert, provenAt) in conflicts)
        {
            // The id passed WireFormat.IsNodeId and the rest are numbers and addresses: nothing here can forge a log line.
            Log.ConflictingAdvert(_logger, advert.NodeId, new IPEndPoint(advert.Address, advert.UdpPort), advert.IsServer ? "server" : "client", advert.Term, provenAt);
        }

        foreach (var (probe, toId, to, suspicious) in probes)
        {
            if (suspicious)
            {
                Log.Unproven(_logger, to, MemberVerifier.SuspiciousAfter);
            }

            transport.SendUnconnected(probe, toId, to);
        }
    }

    private void OnProbe(MemberProbe probe, IPEndPoint from)
    {
        if (probe.FromId == self.NodeId || !TakeProofBudget())
        {
            return;
        }

        var view = state.Current;
        transport.SendUnconnected(new MemberProof(self.NodeId, probe.Nonce, view.Role, view.Term, Priority, started.At.ToUnixTimeMilliseconds(), http.Port), probe.FromId, from);
    }

    private void OnProof(MemberProof proof, IPEndPoint from)
    {
        bool proven;
        lock (_lock)
        {
            proven = _verifier.OnProof(proof, time.MonotonicNow());
        }

        if (proven)
        {
            UpdateMembers(time.MonotonicNow());
        }
    }

    private bool TakeProofBudget()
    {
        var now = time.MonotonicNow();
        lock (_lock)
        {
            if (now - _proofBudgetAt >= TimeSpan.FromSeconds(1))
            {
                _proofBudgetAt = now;
                _proofBudget = ProofsPerSecond;
            }

            return _proofBudget-- > 0;
        }
    }

    private void OnHeartbeat(Heartbeat beat, IPEndPoint from)
    {
        if (beat.ServerId == self.NodeId || !TermGuard.IsValid(beat.Term))
        {
            return; // a term out of range is no heartbeat at all: it does not even move where the server is reached
        }

        lock (_lock)
        {
            _endpoints[beat.ServerId] = from;
            if (_heartbeats.Count >= 4096)
            {
                _heartbeats.Clear(); // only servers heartbeat: this many ids is noise, not a LAN
            }

            _heartbeats[beat.ServerId] = time.GetUtcNow();
            if (_elector is not null)
            {
                Apply(_elector.OnHeartbeat(beat.ServerId, beat.Term, beat.Priority, beat.Since, time.MonotonicNow()));
            }
        }

        // Only from the server this node follows now, at its term (with a key, only a sealed heartbeat gets here): a
        // stale server's, a candidate's or a forger's count is not the LAN's.
        var view = state.Current;
        if (tally is not null && beat.InternetDay > 0 && view.Role == NodeRole.Client && view.ServerId == beat.ServerId && view.Term == beat.Term)
        {
            tally.Heard(beat.InternetDay, beat.InternetUsed);
        }
    }

    /// <summary>Acts on a decision the elector just took (under the lock).</summary>
    private void Apply(Decision decision)
    {
        if (_elector is not null)
        {
            _report.Report(_elector);
        }

        switch (decision.Kind)
        {
            case DecisionKind.BecomeServer:
                StoreTerm(decision);
                state.Publish(new ClusterView(NodeRole.Server, decision.Term, self.NodeId, null));
                Log.BecameServer(_logger, decision.Term);
                break;
            case DecisionKind.Follow when _endpoints.TryGetValue(decision.ServerId!, out var endpoint):
                StoreTerm(decision);
                state.Publish(new ClusterView(NodeRole.Client, decision.Term, decision.ServerId, $"{endpoint.Address}:{endpoint.Port}"));
                Log.Following(_logger, decision.ServerId!, endpoint, decision.Term, decision.StepDown);
                break;
            default:
                return;
        }

        _ = _responder?.UpdateTxtAsync(Txt(started.At.ToUnixTimeMilliseconds()), CancellationToken.None);
    }

    /// <summary>Stores the decision's term; until that succeeds (a full disk?) the decision is retried at every tick.</summary>
    private void StoreTerm(Decision decision)
    {
        _unapplied = decision;
        db.SetMeta("term", decision.Term.ToString(CultureInfo.InvariantCulture));
        _unapplied = null;
    }

    /// <summary>
    /// Acts again on a decision whose term could not be stored, while the elector still stands by it (under the lock).
    /// The elector does not repeat a decision: without this, one failed write would leave it serving (or following) a
    /// server this node never published, so it would neither heartbeat nor follow anyone.
    /// </summary>
    private void RetryUnapplied()
    {
        if (_unapplied is not { } decision || _elector is null)
        {
            return;
        }

        var meant = decision.Kind == DecisionKind.BecomeServer ? _elector.IsServer : _elector.ServerId == decision.ServerId;
        _unapplied = null;
        if (meant)
        {
            Apply(decision with { Term = _elector.Term });
        }
    }

    private ServiceAdvert Advert(long since) =>
        new($"peerpatch-{self.NodeId}", ServiceType, DnsName.Parse($"pp-{self.NodeId}.local"), (ushort)transport.LocalPort, Txt(since));

    private Dictionary<string, string> Txt(long since)
    {
        var view = state.Current;
        return new Dictionary<string, string>
        {
            ["v"] = Protocol.ProtocolLimits.Version.ToString(CultureInfo.InvariantCulture),
            ["id"] = self.NodeId,
            ["role"] = view.Role == NodeRole.Server ? "server" : "client",
            ["term"] = view.Term.ToString(CultureInfo.InvariantCulture),
            ["http"] = http.Port.ToString(CultureInfo.InvariantCulture),
            ["prio"] = Priority.ToString(CultureInfo.InvariantCulture),
            ["since"] = since.ToString(CultureInfo.InvariantCulture),
            ["cluster"] = _clusterId,
        };
    }

    private static Member? ToMember(DiscoveredService s, string clusterId)
    {
        var txt = s.Txt;
        if (!s.Resolved || txt.GetValueOrDefault("cluster", string.Empty) != clusterId
            || !txt.TryGetValue("id", out var id) || !Protocol.WireFormat.IsNodeId(id)
            || !txt.TryGetValue("v", out var v) || v != Protocol.ProtocolLimits.Version.ToString(CultureInfo.InvariantCulture)
            || !int.TryParse(txt.GetValueOrDefault("http"), CultureInfo.InvariantCulture, out var httpPort)
            || !int.TryParse(txt.GetValueOrDefault("prio"), CultureInfo.InvariantCulture, out var prio)
            || !long.TryParse(txt.GetValueOrDefault("since"), CultureInfo.InvariantCulture, out var since)
            || !long.TryParse(txt.GetValueOrDefault("term"), CultureInfo.InvariantCulture, out var term))
        {
            return null;
        }

        var address = s.Addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? s.Addresses[0];
        return new Member(id, address, s.Port, httpPort, prio, since, txt.GetValueOrDefault("role") == "server", term);
    }

    /// <summary>The default priority prefers the node with the most free cache space: free GiB under the cap, at most 1,000,000.</summary>
    private static int DerivedPriority(BlobStore store)
    {
        var cap = store.CapacityBytes;
        var free = cap > 0 ? cap - store.TotalBytes : new DriveInfo(store.Root).AvailableFreeSpace;
        return (int)Math.Clamp(free >> 30, 0, 1_000_000);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "advertising node {PeerId} over mDNS (priority {Priority}); server {Mode}")]
        public static partial void Advertising(ILogger logger, string peerId, int priority, string mode);

        [LoggerMessage(EventId = 704, Level = LogLevel.Warning, Message = "cluster tick failed; continuing")]
        public static partial void TickFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 703, Level = LogLevel.Error, Message = "mDNS unavailable (udp {Port}: {Error}): this node cannot discover peers or take part in elections")]
        public static partial void MdnsUnavailable(ILogger logger, int port, string error);

        [LoggerMessage(EventId = 705, Level = LogLevel.Warning, Message = "ignoring the node advertised at {EndPoint}: it claims this cluster but has not proven the key ({Probes} probes unanswered)")]
        public static partial void Unproven(ILogger logger, IPEndPoint endPoint, int probes);

        [LoggerMessage(EventId = 706, Level = LogLevel.Warning, Message = "ignoring an advert for member {PeerId} at {EndPoint} (role {Role}, term {Term}): the member proved itself at {ProvenAt}, and only its sealed proofs and heartbeats count (a forged advert?)")]
        public static partial void ConflictingAdvert(ILogger logger, string peerId, IPEndPoint endPoint, string role, long term, IPEndPoint provenAt);

        [LoggerMessage(EventId = 707, Level = LogLevel.Warning, Message = "the stored election term ({Stored}) is not in 0..{Max}: reset to 0")]
        public static partial void StoredTermReset(ILogger logger, string stored, long max);

        [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "elected LAN server for term {Term}")]
        public static partial void BecameServer(ILogger logger, long term);

        [LoggerMessage(EventId = 702, Level = LogLevel.Information, Message = "following server {PeerId} at {EndPoint} (term {Term}, stepped down: {StepDown})")]
        public static partial void Following(ILogger logger, string peerId, IPEndPoint endPoint, long term, bool stepDown);
    }
}
