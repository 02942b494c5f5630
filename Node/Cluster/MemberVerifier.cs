using System.Net;
using System.Security.Cryptography;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// With a cluster key, mDNS adverts (which anyone can send) only name candidates. A candidate counts as a member
/// once it answers a sealed <see cref="MemberProbe"/> with a <see cref="MemberProof"/> for this probe's nonce, and
/// only while its advert says what the proof said (role, term, priority, start time, ports): an advert that changes
/// is probed again before it is believed. So a node without the key is never a member: never elected, never
/// followed, never pushed to; and one that copies a member's advert gains nothing. Pure bookkeeping: time comes in
/// as <c>now</c>; the caller sends the probes it returns.
/// </summary>
internal sealed class MemberVerifier(string selfId)
{
    /// <summary>A candidate is probed at most this often.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>A candidate that has left <see cref="SuspiciousAfter"/> probes unanswered is probed this often.</summary>
    public static readonly TimeSpan SuspectProbeInterval = TimeSpan.FromSeconds(5);

    /// <summary>An unanswered probe is forgotten after this long.</summary>
    public static readonly TimeSpan ProbeLifetime = TimeSpan.FromSeconds(5);

    /// <summary>Unanswered probes before a candidate is reported as failing verification.</summary>
    public const int SuspiciousAfter = 4;

    private const int MaxPending = 8192;
    private const int MaxRemembered = 8192;
    private readonly Dictionary<string, (Member Member, IPEndPoint At)> _proven = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string NodeId, IPEndPoint To, DateTimeOffset SentAt)> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset LastProbe, int Unanswered)> _probed = new(StringComparer.Ordinal);

    /// <summary>Candidates whose proof matches their advert; <paramref name="probes"/> gets the probes to send now.</summary>
    public List<Member> Filter(IEnumerable<Member> candidates, DateTimeOffset now, List<(MemberProbe Probe, IPEndPoint To, bool Suspicious)> probes)
    {
        foreach (var (nonce, p) in _pending.Where(p => now - p.Value.SentAt > ProbeLifetime).ToList())
        {
            _pending.Remove(nonce);
        }

        var members = new List<Member>();
        foreach (var m in candidates)
        {
            var at = new IPEndPoint(m.Address, m.UdpPort);
            if (_proven.TryGetValue(m.NodeId, out var proven) && proven.Member == m && proven.At.Equals(at))
            {
                members.Add(m);
                continue;
            }

            var last = _probed.GetValueOrDefault(m.NodeId);
            var interval = last.Unanswered >= SuspiciousAfter ? SuspectProbeInterval : ProbeInterval;
            if (now - last.LastProbe < interval || _pending.Count >= MaxPending)
            {
                continue;
            }

            var nonce = RandomNumberGenerator.GetBytes(MemberProbe.NonceLength);
            _pending[Convert.ToHexString(nonce)] = (m.NodeId, at, now);
            var unanswered = last.Unanswered + 1;
            _probed[m.NodeId] = (now, unanswered);
            probes.Add((new MemberProbe(selfId, nonce), at, unanswered == SuspiciousAfter));
        }

        return members;
    }

    /// <summary>A proof arrived: true when it answers an outstanding probe (the candidate is then proven as it says).</summary>
    public bool OnProof(MemberProof proof)
    {
        var nonce = Convert.ToHexString(proof.Nonce);
        if (!_pending.TryGetValue(nonce, out var probe) || probe.NodeId != proof.NodeId)
        {
            return false; // unsolicited, late, replayed, or another node's answer
        }

        _pending.Remove(nonce);
        _probed[proof.NodeId] = (_probed.GetValueOrDefault(proof.NodeId).LastProbe, 0);
        _proven[proof.NodeId] = (
            new Member(proof.NodeId, probe.To.Address, probe.To.Port, proof.HttpPort, proof.Priority, proof.Since, proof.Role == NodeRole.Server, proof.Term),
            probe.To);
        return true;
    }

    /// <summary>
    /// Forgets nodes no longer advertised, once this many are remembered: an advert that flaps (a TTL refresh, an
    /// address re-resolved) keeps its proof, which still has to match the advert to count.
    /// </summary>
    public void Retain(IEnumerable<string> nodeIds)
    {
        if (_proven.Count + _probed.Count < MaxRemembered)
        {
            return;
        }

        var keep = nodeIds.ToHashSet(StringComparer.Ordinal);
        foreach (var id in _proven.Keys.Where(id => !keep.Contains(id)).ToList())
        {
            _proven.Remove(id);
        }

        foreach (var id in _probed.Keys.Where(id => !keep.Contains(id)).ToList())
        {
            _probed.Remove(id);
        }
    }
}
