using System.Net;
using PeerPatch.Node.Cluster;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Tests.Cluster;

public sealed class MemberVerifierTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
    private readonly MemberVerifier _verifier = new("self");

    private static Member Candidate(string id = "n2", bool server = false, long term = 1, int priority = 5) =>
        new(id, IPAddress.Parse("10.0.0.2"), 47470, 47471, priority, 1764000000000, server, term);

    private static MemberProof ProofOf(Member m, byte[] nonce) =>
        new(m.NodeId, nonce, m.IsServer ? NodeRole.Server : NodeRole.Client, m.Term, m.Priority, m.Since, m.HttpPort);

    private (List<Member> Members, List<(MemberProbe Probe, string ToId, IPEndPoint To, bool Suspicious)> Probes) Filter(DateTimeOffset now, params Member[] candidates)
    {
        var probes = new List<(MemberProbe, string, IPEndPoint, bool)>();
        return (_verifier.Filter(candidates, now, probes), probes);
    }

    [Fact]
    public void AnAdvertisedNode_IsNoMemberUntilItProvesTheKey_ThenIsOne()
    {
        var m = Candidate();
        var (members, probes) = Filter(T0, m);
        Assert.Empty(members);
        var (probe, toId, to, _) = Assert.Single(probes);
        Assert.Equal(new IPEndPoint(m.Address, m.UdpPort), to);
        Assert.Equal(m.NodeId, toId); // sealed for the advertised id: no other node may answer it
        Assert.Equal("self", probe.FromId);

        Assert.True(_verifier.OnProof(ProofOf(m, probe.Nonce), T0));

        Assert.Equal([m], Filter(T0.AddMilliseconds(10), m).Members);
    }

    [Fact]
    public void AProofWithoutAProbe_AReplayedProof_OrAnotherNodesProof_IsIgnored()
    {
        var m = Candidate();
        var (_, probes) = Filter(T0, m);
        var nonce = probes[0].Probe.Nonce;

        Assert.False(_verifier.OnProof(ProofOf(m, new byte[16]), T0)); // unsolicited
        Assert.False(_verifier.OnProof(ProofOf(Candidate("n3"), nonce), T0)); // answers n2's probe as n3
        Assert.True(_verifier.OnProof(ProofOf(m, nonce), T0));
        Assert.False(_verifier.OnProof(ProofOf(m, nonce), T0)); // the same proof again
    }

    [Fact]
    public void AnAdvertThatClaimsMoreThanTheProof_ChangesNothing_TheNodeIsAskedAgainWhereItProvedItself()
    {
        var m = Candidate();
        var (_, probes) = Filter(T0, m);
        Assert.True(_verifier.OnProof(ProofOf(m, probes[0].Probe.Nonce), T0));

        // Anyone can send mDNS records: a forged TXT making n2 a server of a huge term is not taken at its word.
        var forged = m with { IsServer = true, Term = 999_999, Priority = 1_000_000 };
        var (members, reprobes) = Filter(T0.AddSeconds(1), forged);
        Assert.Equal([m], members); // still the proven n2, as it proved itself
        var (probe, toId, to, _) = Assert.Single(reprobes);
        Assert.Equal(new IPEndPoint(m.Address, m.UdpPort), to);
        Assert.Equal(m.NodeId, toId);

        // n2's real answer still says what it really is: the forged advert stays out.
        Assert.True(_verifier.OnProof(ProofOf(m, probe.Nonce), T0.AddSeconds(1)));
        Assert.Equal([m], Filter(T0.AddSeconds(1.1), forged).Members);
        Assert.Equal([m], Filter(T0.AddSeconds(1.2), m).Members);
    }

    [Fact]
    public void AChangeTheNodeItselfProves_IsBelieved()
    {
        var m = Candidate();
        var (_, probes) = Filter(T0, m);
        Assert.True(_verifier.OnProof(ProofOf(m, probes[0].Probe.Nonce), T0));

        var elected = m with { IsServer = true, Term = 2 };
        var (_, reprobes) = Filter(T0.AddSeconds(1), elected);
        Assert.True(_verifier.OnProof(ProofOf(elected, Assert.Single(reprobes).Probe.Nonce), T0.AddSeconds(1)));

        Assert.Equal([elected], Filter(T0.AddSeconds(1.1), elected).Members);
    }

    [Fact]
    public void AProvenNodeAdvertisedAtAnotherAddress_IsAskedAtItsProvenAddress_StaysAMember_AndTheConflictIsReportedNowAndThen()
    {
        var m = Candidate();
        var (_, probes) = Filter(T0, m);
        Assert.True(_verifier.OnProof(ProofOf(m, probes[0].Probe.Nonce), T0));
        var forged = m with { Address = IPAddress.Parse("10.0.0.66"), IsServer = true, Term = 999 };

        var reports = 0;
        for (var t = TimeSpan.FromSeconds(1); t < TimeSpan.FromSeconds(61); t += TimeSpan.FromMilliseconds(100))
        {
            var probesNow = new List<(MemberProbe Probe, string ToId, IPEndPoint To, bool Suspicious)>();
            var conflicts = new List<(Member Advert, IPEndPoint ProvenAt)>();
            var members = _verifier.Filter([m, forged], T0 + t, probesNow, conflicts); // the real advert and the copy, both heard
            Assert.Equal([m], members);
            foreach (var (probe, toId, to, _) in probesNow)
            {
                Assert.Equal(m.NodeId, toId);
                Assert.Equal(new IPEndPoint(m.Address, m.UdpPort), to); // never the forger's address
                Assert.True(_verifier.OnProof(ProofOf(m, probe.Nonce), T0 + t)); // and the real node answers
            }

            reports += conflicts.Count;
            Assert.All(conflicts, c => Assert.Equal(forged, c.Advert));
        }

        Assert.InRange(reports, 2, 3); // once per 30 s, not once per advert
    }

    [Fact]
    public void AProvenNodeSilentAtItsAddress_LosesItsProof_AndIsProbedWhereItIsNowAdvertised()
    {
        var m = Candidate();
        var (_, probes) = Filter(T0, m);
        Assert.True(_verifier.OnProof(ProofOf(m, probes[0].Probe.Nonce), T0));
        var moved = m with { Address = IPAddress.Parse("10.0.0.66") };

        var sentTo = new List<IPEndPoint>();
        for (var t = TimeSpan.FromSeconds(1); t < TimeSpan.FromSeconds(4); t += TimeSpan.FromMilliseconds(100))
        {
            sentTo.AddRange(Filter(T0 + t, moved).Probes.Select(p => p.To));
        }

        var proven = new IPEndPoint(m.Address, m.UdpPort);
        Assert.Equal(MemberVerifier.SuspiciousAfter, sentTo.Count(to => to.Equals(proven))); // asked where it proved itself first
        Assert.Contains(new IPEndPoint(moved.Address, moved.UdpPort), sentTo); // then, silent there, where it says it is
        Assert.Empty(Filter(T0.AddSeconds(5), moved).Members);
    }

    [Fact]
    public void TwoAdvertsForOneId_GiveOneMember_TheOneThatAnswers()
    {
        var real = Candidate();
        var copy = real with { Address = IPAddress.Parse("10.0.0.66"), IsServer = true, Term = 999 };
        var (members, probes) = Filter(T0, copy, real);
        Assert.Empty(members);
        Assert.Equal(2, probes.Count); // each address is asked: the copy cannot starve the real one of probes

        var toReal = probes.Single(p => p.To.Address.Equals(real.Address));
        Assert.True(_verifier.OnProof(ProofOf(real, toReal.Probe.Nonce), T0));

        Assert.Equal([real], Filter(T0.AddSeconds(0.1), copy, real).Members);
    }

    [Fact]
    public void ASilentCandidate_IsProbedLessOften_AndReportedOnce()
    {
        var rogue = Candidate("rogue", server: true, term: 1_000_000, priority: 1_000_000);
        var sent = new List<(DateTimeOffset At, bool Suspicious)>();
        for (var t = TimeSpan.Zero; t < TimeSpan.FromSeconds(30); t += TimeSpan.FromMilliseconds(100))
        {
            var (members, probes) = Filter(T0 + t, rogue);
            Assert.Empty(members);
            sent.AddRange(probes.Select(p => (T0 + t, p.Suspicious)));
        }

        Assert.Equal(1, sent.Count(s => s.Suspicious));
        Assert.InRange(sent.Count, MemberVerifier.SuspiciousAfter + 4, MemberVerifier.SuspiciousAfter + 7); // 4 quick probes, then one per 5 s
    }
}
