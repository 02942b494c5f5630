using System.Net;
using System.Security.Cryptography;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// With a cluster key, mDNS adverts (which anyone can send) only name candidates. A candidate counts as a member
/// once it answers a sealed <see cref="MemberProbe"/> with a <see cref="MemberProof"/> for this probe's nonce, and
/// then exactly as its proof describes it (role, term, priority, start time, ports) at the address it proved itself
/// at: an advert never moves a member. An advert that differs from the proof is a reason to ask again, at the
/// proven address, never at the advertised one; while the proven node answers there, an advert elsewhere is a
/// conflict, reported and ignored. Only a proven address silent for <see cref="SuspiciousAfter"/> probes lets the proof
/// lapse, so that a node that really moved (a new address or port) is probed where it now says it is.
/// So a node without the key is never a member (never elected, followed or pushed to), and one that copies a
/// member's advert can neither move nor drop it. Pure bookkeeping: time comes in as <c>now</c>; the caller sends the
/// probes it returns.
/// </summary>
internal sealed class MemberVerifier(string selfId)
{
    /// <summary>A candidate is probed at most this often.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>A candidate that has left <see cref="SuspiciousAfter"/> probes unanswered is probed this often.</summary>
    public static readonly TimeSpan SuspectProbeInterval = TimeSpan.FromSeconds(5);

    /// <summary>An unanswered probe is forgotten after this long.</summary>
    public static readonly TimeSpan ProbeLifetime = TimeSpan.FromSeconds(5);

    /// <summary>A conflict for the same member is reported at most this often.</summary>
    public static readonly TimeSpan ConflictReportInterval = TimeSpan.FromSeconds(30);

    /// <summary>Unanswered probes before a candidate is reported as failing verification (or a proven address as gone).</summary>
    public const int SuspiciousAfter = 4;

    private const int MaxPending = 8192;
    private const int MaxRemembered = 8192;
    private readonly Dictionary<string, (Member Member, IPEndPoint At, DateTimeOffset ProvenAt)> _proven = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string NodeId, IPEndPoint To, DateTimeOffset SentAt)> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<(string NodeId, IPEndPoint At), (DateTimeOffset LastProbe, int Unanswered)> _probed = [];
    private readonly Dictionary<string, (DateTimeOffset Since, DateTimeOffset Reported)> _differing = new(StringComparer.Ordinal);

    /// <summary>True while some advert differs from its member's proof: call <see cref="Filter"/> again soon (re-probes are due).</summary>
    public bool Unsettled => _differing.Count > 0;

    /// <summary>
    /// The proven members among <paramref name="candidates"/>, as proven; <paramref name="probes"/> gets the probes to
    /// send now (each with the node id it is sealed for), <paramref name="conflicts"/> (if given) the adverts that contradict a proven member, at most once per
    /// <see cref="ConflictReportInterval"/> each.
    /// </summary>
    public List<Member> Filter(
        IEnumerable<Member> candidates,
        DateTimeOffset now,
        List<(MemberProbe Probe, string ToId, IPEndPoint To, bool Suspicious)> probes,
        List<(Member Advert, IPEndPoint ProvenAt)>? conflicts = null)
    {
        foreach (var (nonce, p) in _pending.Where(p => now - p.Value.SentAt > ProbeLifetime).ToList())
        {
            _pending.Remove(nonce);
        }

        var members = new Dictionary<string, Member>(StringComparer.Ordinal);
        var differing = new List<Member>();
        foreach (var m in candidates)
        {
            if (_proven.TryGetValue(m.NodeId, out var proven))
            {
                if (proven.Member != m)
                {
                    differing.Add(m);
                }

                members[m.NodeId] = proven.Member;
                continue;
            }

            Probe(m.NodeId, new IPEndPoint(m.Address, m.UdpPort), now, probes);
        }

        foreach (var m in differing)
        {
            // What the advert says is asked of the node where it proved itself; the advert itself changes nothing.
            if (!_proven.TryGetValue(m.NodeId, out var proven))
            {
                continue; // its proof lapsed for an earlier advert of this round
            }

            if (_probed.GetValueOrDefault((m.NodeId, proven.At)).Unanswered >= SuspiciousAfter)
            {
                _proven.Remove(m.NodeId); // silent where it proved itself: it may have moved, so its adverts are probed again
                members.Remove(m.NodeId);
                continue;
            }

            Probe(m.NodeId, proven.At, now, probes);
            var since = _differing.TryGetValue(m.NodeId, out var d) ? d.Since : now;
            var reported = d.Reported;
            var elsewhere = !proven.At.Equals(new IPEndPoint(m.Address, m.UdpPort));
            if ((elsewhere || proven.ProvenAt > since) && now - reported >= ConflictReportInterval && conflicts is not null)
            {
                conflicts.Add((m, proven.At)); // another address, or the node itself has since said otherwise
                reported = now;
            }

            _differing[m.NodeId] = (since, reported);
        }

        foreach (var id in _differing.Keys.Where(id => !differing.Exists(m => m.NodeId == id)).ToList())
        {
            _differing.Remove(id); // every advert agrees again
        }

        return [.. members.Values];
    }

    /// <summary>A proof arrived: true when it answers an outstanding probe (the candidate is then proven as it says).</summary>
    public bool OnProof(MemberProof proof, DateTimeOffset now)
    {
        var nonce = Convert.ToHexString(proof.Nonce);
        if (!_pending.TryGetValue(nonce, out var probe) || probe.NodeId != proof.NodeId)
        {
            return false; // unsolicited, late, replayed, or another node's answer
        }

        _pending.Remove(nonce);
        var key = (proof.NodeId, probe.To);
        _probed[key] = (_probed.GetValueOrDefault(key).LastProbe, 0);
        _proven[proof.NodeId] = (
            new Member(proof.NodeId, probe.To.Address, probe.To.Port, proof.HttpPort, proof.Priority, proof.Since, proof.Role == NodeRole.Server, proof.Term),
            probe.To,
            now);
        return true;
    }

    /// <summary>
    /// Forgets nodes no longer advertised, once this many are remembered: an advert that flaps (a TTL refresh, an
    /// address re-resolved) keeps its proof.
    /// </summary>
    public void Retain(IEnumerable<string> nodeIds)
    {
        if (_proven.Count + _probed.Count + _differing.Count < MaxRemembered)
        {
            return;
        }

        var keep = nodeIds.ToHashSet(StringComparer.Ordinal);
        foreach (var id in _proven.Keys.Where(id => !keep.Contains(id)).ToList())
        {
            _proven.Remove(id);
        }

        foreach (var key in _probed.Keys.Where(k => !keep.Contains(k.NodeId)).ToList())
        {
            _probed.Remove(key);
        }

        foreach (var id in _differing.Keys.Where(id => !keep.Contains(id)).ToList())
        {
            _differing.Remove(id);
        }
    }

    private void Probe(string nodeId, IPEndPoint to, DateTimeOffset now, List<(MemberProbe Probe, string ToId, IPEndPoint To, bool Suspicious)> probes)
    {
        var last = _probed.GetValueOrDefault((nodeId, to));
        var interval = last.Unanswered >= SuspiciousAfter ? SuspectProbeInterval : ProbeInterval;
        if (now - last.LastProbe < interval || _pending.Count >= MaxPending)
        {
            return;
        }

        if (_probed.Count >= MaxRemembered)
        {
            // Ever new addresses for the same ids: forget the idle ones (each costs at most a probe again), or all.
            foreach (var key in _probed.Where(p => now - p.Value.LastProbe > SuspectProbeInterval).Select(p => p.Key).ToList())
            {
                _probed.Remove(key);
            }

            if (_probed.Count >= MaxRemembered)
            {
                _probed.Clear();
            }
        }

        var nonce = RandomNumberGenerator.GetBytes(MemberProbe.NonceLength);
        _pending[Convert.ToHexString(nonce)] = (nodeId, to, now);
        var unanswered = last.Unanswered + 1;
        _probed[(nodeId, to)] = (now, unanswered);
        probes.Add((new MemberProbe(selfId, nonce), nodeId, to, unanswered == SuspiciousAfter)); // sealed for nodeId: only that node may answer
    }
}
