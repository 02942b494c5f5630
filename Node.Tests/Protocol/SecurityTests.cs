using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Tests.Protocol;

/// <summary>Properties of the cluster-key codecs: sealing, replay windows, HTTP signatures, key files.</summary>
public sealed class SecurityTests
{
    private static readonly ClusterKey Key = ClusterKey.Generate();
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(2000);

    [Fact]
    public void SealedFrame_OpensToTheSamePayloadAndSequence() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), ArbMap.Default.ArbFor<ulong>(), (payload, sequence) =>
        {
            var frame = Key.Unconnected.Seal(sequence, payload);

            Assert.True(Key.Unconnected.TryOpen(frame, out var opened, out var range));
            Assert.Equal(sequence, opened);
            Assert.Equal(payload, frame[range]);
            Assert.Equal(payload.Length + FrameSealer.Overhead, frame.Length);
        }).Check(Many);

    [Fact]
    public void AnySingleFlippedBit_MakesTheFrameFailToOpen() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), ArbMap.Default.ArbFor<ulong>(), ArbMap.Default.ArbFor<int>(), (payload, sequence, where) =>
        {
            var frame = Key.Unconnected.Seal(sequence, payload);
            var bit = (int)((uint)where % (uint)(frame.Length * 8));
            frame[bit / 8] ^= (byte)(1 << (bit % 8));

            Assert.False(Key.Unconnected.TryOpen(frame, out _, out _), $"bit {bit} of {frame.Length * 8} flipped, still opened");
        }).Check(Many);

    [Fact]
    public void AFrameSealedWithAnotherKey_DoesNotOpen()
    {
        var other = ClusterKey.Generate();
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), payload =>
            Assert.False(Key.Unconnected.TryOpen(other.Unconnected.Seal(1, payload), out _, out _))).Check(Many);
    }

    [Fact]
    public void RandomBytes_NeverOpen_AndNeverThrow()
    {
        var opened = 0;
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            if (Key.Unconnected.TryOpen(bytes, out _, out _))
            {
                opened++;
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(20_000));
        Assert.Equal(0, opened);
    }

    [Fact]
    public void SessionKeys_DifferByDirectionAndByConnection()
    {
        var client = new byte[16];
        var server = new byte[16];
        Random.Shared.NextBytes(client);
        Random.Shared.NextBytes(server);
        var (toServer, toClient) = Key.Session(client, server);
        var (toServerAgain, _) = Key.Session(client, server);
        server[0] ^= 1;
        var (otherConnection, _) = Key.Session(client, server);
        var frame = toServer.Seal(5, "lookup"u8);

        Assert.True(toServerAgain.TryOpen(frame, out _, out _)); // both ends derive the same key
        Assert.False(toClient.TryOpen(frame, out _, out _)); // a frame cannot be reflected back to its sender
        Assert.False(otherConnection.TryOpen(frame, out _, out _)); // nor replayed into another connection
        Assert.False(Key.Unconnected.TryOpen(frame, out _, out _)); // nor passed off as a one-way datagram
    }

    [Fact]
    public void ReplayWindow_AcceptsEachNumberAtMostOnce_AndNeverOneThatFellOut() =>
        Prop.ForAll(ArbMap.Default.ArbFor<ushort[]>(), numbers =>
        {
            var window = new ReplayWindow();
            var accepted = new HashSet<ulong>();
            foreach (var n in numbers)
            {
                var highestBefore = window.Highest;
                if (window.TryAccept(n))
                {
                    Assert.True(accepted.Add(n), $"{n} accepted twice");
                    Assert.True(n > 0 && n + 64UL > highestBefore, $"{n} accepted below the window (highest {highestBefore})");
                }
                else
                {
                    Assert.True(n == 0 || accepted.Contains(n) || n + 64UL <= highestBefore, $"{n} refused though new and inside the window");
                }
            }
        }).Check(Many);

    [Fact]
    public void ReplayWindow_AcceptsReorderingWithinTheWindow()
    {
        var window = new ReplayWindow();
        var order = Enumerable.Range(1, 1000).Select(i => (ulong)i).Chunk(8).SelectMany(c => c.Reverse()).ToList();

        Assert.All(order, n => Assert.True(window.TryAccept(n)));
        Assert.All(order, n => Assert.False(window.TryAccept(n)));
    }

    [Fact]
    public void HttpSignature_VerifiesForExactlyTheSignedRequest()
    {
        var nonce = new byte[16];
        var header = HttpSignature.Create(Key, "PUT", "/v1/blobs/abc?os=x&name=y", "node1", 1764000000000, nonce);

        Assert.True(HttpSignature.TryVerify(Key, "PUT", "/v1/blobs/abc?os=x&name=y", header, out var claims, out var error), error);
        Assert.Equal(("node1", 1764000000000L), (claims.NodeId, claims.UnixMs));
        Assert.False(HttpSignature.TryVerify(Key, "POST", "/v1/blobs/abc?os=x&name=y", header, out _, out _));
        Assert.False(HttpSignature.TryVerify(Key, "PUT", "/v1/blobs/abd?os=x&name=y", header, out _, out _));
        Assert.False(HttpSignature.TryVerify(Key, "PUT", "/v1/blobs/abc?os=x&name=z", header, out _, out _));
        Assert.False(HttpSignature.TryVerify(ClusterKey.Generate(), "PUT", "/v1/blobs/abc?os=x&name=y", header, out _, out error));
        Assert.Contains("cluster key", error, StringComparison.Ordinal);
        Assert.False(HttpSignature.TryVerify(Key, "PUT", "/v1/blobs/abc?os=x&name=y", header.Replace("ts=1764000000000", "ts=1764000000001", StringComparison.Ordinal), out _, out _));
        Assert.False(HttpSignature.TryVerify(Key, "PUT", "/v1/blobs/abc?os=x&name=y", header.Replace("node=node1", "node=node2", StringComparison.Ordinal), out _, out _));
        Assert.False(HttpSignature.TryVerify(Key, "PUT", "/v1/blobs/abc?os=x&name=y", null, out _, out error));
        Assert.Contains("needs the cluster key", error, StringComparison.Ordinal);
    }

    [Fact]
    public void HttpSignature_RandomHeaders_NeverThrow_AndNeverVerify() =>
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), text =>
        {
            Assert.False(HttpSignature.TryVerify(Key, "PUT", "/v1/x", text, out _, out var error));
            Assert.False(string.IsNullOrEmpty(error));
            Assert.False(HttpSignature.TryVerify(Key, "PUT", "/v1/x", "PeerPatch " + text, out _, out _));
        }).Check(Many);

    [Fact]
    public void KeyText_RoundTrips_AndTheClusterIdRevealsNothingOfIt()
    {
        var text = Key.Export();

        Assert.True(ClusterKey.TryParse("  " + text + "\n", out var parsed, out var error), error);
        Assert.Equal(Key.ClusterId, parsed!.ClusterId);
        Assert.Matches("^[0-9a-f]{16}$", Key.ClusterId);
        Assert.NotEqual(Key.ClusterId, ClusterKey.Generate().ClusterId);
        Assert.DoesNotContain(text[ClusterKey.Prefix.Length..], Key.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexStringLower(Convert.FromBase64String(text[ClusterKey.Prefix.Length..]))[..16], Key.ClusterId, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "starts with")]
    [InlineData("peerpatch-key-1:", "32 bytes")]
    [InlineData("peerpatch-key-1:AAAA", "32 bytes")]
    [InlineData("peerpatch-key-1:!!!!not base64!!!!", "32 bytes")]
    [InlineData("ssh-rsa AAAAB3NzaC1yc2E", "starts with")]
    public void BadKeyText_IsRefusedWithAClearError(string text, string expected)
    {
        Assert.False(ClusterKey.TryParse(text, out var key, out var error));
        Assert.Null(key);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void MembershipMessages_RoundTripThroughTheCodec_AndBadNoncesAreRefused()
    {
        var nonce = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var probe = Assert.IsType<MemberProbe>(WireCodec.TryDecode(WireCodec.Encode(Envelope.Of(0, new MemberProbe("n1", nonce)))).Envelope!.Body);
        var proof = Assert.IsType<MemberProof>(WireCodec.TryDecode(WireCodec.Encode(Envelope.Of(0, new MemberProof("n2", nonce, NodeRole.Server, 4, 9, 1764000000000, 47471)))).Envelope!.Body);

        Assert.Equal(nonce, probe.Nonce);
        Assert.Equal(("n2", NodeRole.Server, 4L, 9, 47471), (proof.NodeId, proof.Role, proof.Term, proof.Priority, proof.HttpPort));
        Assert.Equal(nonce, proof.Nonce);
        Assert.Equal(DecodeError.Invalid, WireCodec.TryDecode(WireCodec.Encode(Envelope.Of(0, new MemberProbe("n1", new byte[15])))).Error);
        Assert.Equal(DecodeError.Invalid, WireCodec.TryDecode(WireCodec.Encode(Envelope.Of(0, new MemberProof("n2", nonce, (NodeRole)7, 4, 9, 1, 47471)))).Error);
    }
}
