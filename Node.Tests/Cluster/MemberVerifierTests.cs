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

    private (List<Member> Members, List<(MemberProbe Probe, IPEndPoint To, bool Suspicious)> Probes) Filter(DateTimeOffset now, params Member[] candidates)
    {
        var probes = new List<(MemberProbe, IPEndPoint, bool)>();
        return (_verifier.Filter(candidates, now, probes), probes);
    }

    [Fact]
    public void AnAdvertisedNode_IsNoMemberUntilItProvesTheKey_ThenIsOne()
    {
        var m = Candidate();
        var (members, probes) = Filter(T0, m);
        Assert.Empty(members);
        var (probe, to, _) = Assert.Single(probes);
        Assert.Equal(new IPEndPoint(m.Address, m.UdpPort), to);
        Assert.Equal("self", probe.FromId);

        Assert.True(_verifier.OnProof(ProofOf(m, probe.Nonce)));

        Assert.Equal([m], Filter(T0.AddMilliseconds(10), m).Members);
    }

    [Fact]
    public void AProofWithoutAProbe_AReplayedProof_OrAnotherNodesProof_IsIgnored()
    {
        var m = Candidate();
        var (_, probes) = Filter(T0, m);
        var nonce = probes[0].Probe.Nonce;

        Assert.False(_verifier.OnProof(ProofOf(m, new byte[16]))); // unsolicited
        Assert.False(_verifier.OnProof(ProofOf(Candidate("n3"), nonce))); // answers n2's probe as n3
        Assert.True(_verifier.OnProof(ProofOf(m, nonce)));
        Assert.False(_verifier.OnProof(ProofOf(m, nonce))); // the same proof again
    }

    [Fact]
    public void AnAdvertThatClaimsMoreThanTheProof_IsNotBelieved_UntilProvenAgain()
    {
        var m = Candidate();
        var (_, probes) = Filter(T0, m);
        Assert.True(_verifier.OnProof(ProofOf(m, probes[0].Probe.Nonce)));

        // Anyone can send mDNS records: a forged TXT making n2 a server of a huge term is not taken at its word.
        var forged = m with { IsServer = true, Term = 999_999, Priority = 1_000_000 };
        var (members, reprobes) = Filter(T0.AddSeconds(1), forged);
        Assert.Empty(members);
        var (probe, _, _) = Assert.Single(reprobes);

        // n2's real answer still says what it really is: the forged advert stays out.
        Assert.True(_verifier.OnProof(ProofOf(m, probe.Nonce)));
        Assert.Empty(Filter(T0.AddSeconds(1.1), forged).Members);
        Assert.Equal([m], Filter(T0.AddSeconds(1.2), m).Members);
    }

    [Fact]
    public void AProvenNodeAdvertisedAtAnotherAddress_IsProbedThere()
    {
        var m = Candidate();
        var (_, probes) = Filter(T0, m);
        Assert.True(_verifier.OnProof(ProofOf(m, probes[0].Probe.Nonce)));

        var moved = m with { Address = IPAddress.Parse("10.0.0.66") };
        var (members, reprobes) = Filter(T0.AddSeconds(1), moved);

        Assert.Empty(members);
        Assert.Equal(IPAddress.Parse("10.0.0.66"), Assert.Single(reprobes).To.Address);
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
