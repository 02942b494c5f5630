using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Tests.Transport;

/// <summary>
/// One-way datagrams without sockets (<see cref="OneWayDatagrams"/>): with a key each is sealed for its recipient, so
/// an eavesdropper who records a server's heartbeat copies to every member cannot play one member's copy to another.
/// </summary>
public sealed class OneWayDatagramsTests
{
    private static readonly ClusterKey Key = ClusterKey.Generate();
    private static readonly Heartbeat Beat = new("n0", 3, 10, 1000, 47471);

    [Fact]
    public void AHeartbeatSealedForB_IsAcceptedByB_AndRefusedByC_AsSealedForAnotherNode()
    {
        var server = new OneWayDatagrams(Key, "n0");
        var b = new OneWayDatagrams(Key, "nB");
        var c = new OneWayDatagrams(Key, "nC");
        var forB = server.Encode(Beat, "nB");

        var atC = c.Check(forB);
        Assert.Null(atC.Message);
        Assert.Equal(OneWayDatagrams.ForAnotherNode, atC.Refusal);
        Assert.Equal(Beat, b.Check(forB).Message);
        Assert.Equal(OneWayDatagrams.Replayed, b.Check(forB).Refusal); // and B takes it once

        var forC = server.Encode(Beat, "nC"); // C's own copy, with a later number, is still taken
        Assert.Equal(Beat, c.Check(forC).Message);
    }

    [Fact]
    public void ProbesAndProofs_AreSealedForTheirRecipientToo()
    {
        var nonce = new byte[MemberProbe.NonceLength];
        var probe = new OneWayDatagrams(Key, "n1").Encode(new MemberProbe("n1", nonce), "n2");
        var proof = new OneWayDatagrams(Key, "n2").Encode(new MemberProof("n2", nonce, NodeRole.Client, 3, 10, 1000, 47471), "n1");

        Assert.Equal(OneWayDatagrams.ForAnotherNode, new OneWayDatagrams(Key, "n3").Check(probe).Refusal);
        Assert.Equal(OneWayDatagrams.ForAnotherNode, new OneWayDatagrams(Key, "n3").Check(proof).Refusal);
        Assert.IsType<MemberProbe>(new OneWayDatagrams(Key, "n2").Check(probe).Message);
        Assert.IsType<MemberProof>(new OneWayDatagrams(Key, "n1").Check(proof).Message);
    }

    /// <summary>
    /// A server heartbeats random members in random order with one shared counter; the eavesdropper delivers every
    /// copy to every member, in the order sent, then all of them again. Each member takes exactly the copies sealed for
    /// it, each once: every other copy is refused, whatever its number.
    /// </summary>
    [Fact]
    public void CopiesDeliveredToEveryMember_AreTakenOnlyByTheirRecipient_AndOnlyOnce() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), ArbMap.Default.ArbFor<int>(), ArbMap.Default.ArbFor<uint>(), (picks, width, epoch) =>
        {
            var members = 2 + (int)((uint)width % 8);
            var ids = Enumerable.Range(0, members).Select(i => $"m{i}").ToArray();
            var server = new OneWayDatagrams(Key, "n0", epoch % (1u << SenderWindows.EpochBits));
            var receivers = ids.ToDictionary(id => id, id => new OneWayDatagrams(Key, id));
            var sent = picks.Select(p => (To: ids[p % members], Datagram: server.Encode(Beat, ids[p % members]))).ToList();

            foreach (var (id, receiver) in receivers)
            {
                var taken = new List<int>();
                for (var round = 0; round < 2; round++)
                {
                    for (var i = 0; i < sent.Count; i++)
                    {
                        var verdict = receiver.Check(sent[i].Datagram);
                        if (verdict.Message is not null)
                        {
                            taken.Add(i);
                        }
                        else
                        {
                            Assert.Equal(sent[i].To == id ? OneWayDatagrams.Replayed : OneWayDatagrams.ForAnotherNode, verdict.Refusal);
                        }
                    }
                }

                Assert.Equal(Enumerable.Range(0, sent.Count).Where(i => sent[i].To == id), taken);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    [Fact]
    public void OnAnOpenLan_AHeartbeatIsTheBareEnvelope_ByteForByte_AndMembershipDatagramsAreRefused()
    {
        var open = new OneWayDatagrams(null, "n0");
        var datagram = open.Encode(Beat, "nB");

        Assert.Equal(WireCodec.Encode(Envelope.Of(0, Beat)), datagram); // the format before recipients, unchanged
        Assert.Equal(Beat, new OneWayDatagrams(null, "nC").Check(datagram).Message); // any node takes it, as before
        Assert.Equal(Beat, new OneWayDatagrams(null, "nC").Check(datagram).Message);
        var probe = open.Encode(new MemberProbe("n0", new byte[MemberProbe.NonceLength]), "nC");
        Assert.Equal(OneWayDatagrams.MembershipOnOpenLan, new OneWayDatagrams(null, "nC").Check(probe).Refusal);
    }

    [Fact]
    public void AKeyedNode_RefusesPlainDatagrams_OtherKeys_AndTheOlderUnaddressedFormat()
    {
        var receiver = new OneWayDatagrams(Key, "nB");
        var envelope = WireCodec.Encode(Envelope.Of(0, Beat));

        Assert.Equal(OneWayDatagrams.NotSealed, receiver.Check(envelope).Refusal);
        Assert.Equal(OneWayDatagrams.NotSealed, receiver.Check(new OneWayDatagrams(ClusterKey.Generate(), "n0").Encode(Beat, "nB")).Refusal);
        Assert.Equal(OneWayDatagrams.Unaddressed, receiver.Check(Key.Unconnected.Seal((5UL << SenderWindows.CounterBits) | 1, envelope)).Refusal);
    }

    [Fact]
    public void ARestartedSender_IsTakenAgain_ButItsEarlierRunIsNot()
    {
        var receiver = new OneWayDatagrams(Key, "nB");
        var firstRun = new OneWayDatagrams(Key, "n0", epoch: 5);
        var recorded = firstRun.Encode(Beat, "nB");
        var later = firstRun.Encode(Beat, "nB");
        Assert.NotNull(receiver.Check(recorded).Message);

        Assert.NotNull(receiver.Check(new OneWayDatagrams(Key, "n0", epoch: 6).Encode(Beat, "nB")).Message); // restarted: counter from 1 again
        Assert.Equal(OneWayDatagrams.Replayed, receiver.Check(later).Refusal); // the replaced run, even a number never seen
    }
}
