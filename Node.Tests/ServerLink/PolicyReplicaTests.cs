using System.Text.Json;
using PeerPatch.Node.Policy;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Protocol.Security;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.ServerLink;

/// <summary>
/// A node's copy of the policy against a server that hands it a copy at the highest version set far in the node's
/// future (a broken or hostile key holder): at <see cref="PolicyEnvelope.MaxVersion"/> only setAt orders copies, so
/// such a copy would outrank every legitimate change until that date.
/// </summary>
public sealed class PolicyReplicaTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly WatchedClock _time = new();
    private readonly NodeIdentity _self = new("n-pc", "i1", "debian-12-amd64", "test");
    private readonly ClusterKey _key = ClusterKey.Generate();
    private readonly ListLogger<PolicyReplica> _log = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ACopyAtTheHighestVersionSetFarInTheFuture_IsRefusedAndLogged_AndALaterLegitimateCopyStillApplies()
    {
        var node = Replica();

        var pinned = Reply(PolicyEnvelope.MaxVersion, _time.GetUtcNow().AddDays(30), "*");
        Assert.False(node.TryAccept(pinned, out var error)); // before: accepted, and no later copy could replace it for 30 days
        Assert.Contains("future", error, StringComparison.Ordinal);
        Assert.True(_log.Has(720, "future"), _log.ToString());
        Assert.Equal(0, node.Current.Version);

        var legitimate = Reply(3, _time.GetUtcNow(), "KB-BAD");
        Assert.True(node.TryAccept(legitimate, out error), error);
        Assert.Equal([new PatchRule("KB-BAD", null)], node.Current.Document.Held);

        // Within the allowed skew (10 min) a copy of the highest version is still taken: a server's clock may run a little ahead.
        Assert.True(node.TryAccept(Reply(PolicyEnvelope.MaxVersion, _time.GetUtcNow().Add(PolicyEnvelope.MaxClockSkew), "KB-TOP"), out error), error);
        Assert.Equal([new PatchRule("KB-TOP", null)], node.Current.Document.Held);
    }

    [Fact]
    public void ANodeThatAlreadyHoldsAPinnedCopy_TakesTheNextLegitimateCopy()
    {
        // A copy stored by an earlier version of the node (which took it): read back at start, it must not pin the node.
        var pinned = Reply(PolicyEnvelope.MaxVersion, _time.GetUtcNow().AddDays(30), "*");
        Directory.CreateDirectory(_dir.Sub("data"));
        File.WriteAllBytes(Path.Combine(_dir.Sub("data"), PolicyReplica.FileName), JsonSerializer.SerializeToUtf8Bytes(pinned, StatusJsonContext.Default.PolicyReply));
        var node = Replica();
        Assert.Equal(PolicyEnvelope.MaxVersion, node.Current.Version); // kept until something better comes (a hold stays a hold)

        Assert.True(node.TryAccept(Reply(3, _time.GetUtcNow(), "KB-BAD"), out var error), error);
        Assert.Equal([new PatchRule("KB-BAD", null)], node.Current.Document.Held);
        Assert.Equal([new PatchRule("KB-BAD", null)], Replica().Current.Document.Held); // and after a restart
    }

    private PolicyReplica Replica() =>
        new(new CoreOptions { DataDir = _dir.Sub("data") }, new ClusterAuth(_key, _self, _time), _time, _log);

    /// <summary>A server's copy, sealed with the LAN's key (a key holder made it).</summary>
    private PolicyReply Reply(long version, DateTimeOffset setAt, string held)
    {
        var text = new PolicyEnvelope(version, "n-server", setAt, PolicyDocument.Default with { Held = [new PatchRule(held, null)] }).ToJson();
        return new PolicyReply(text, PolicySeal.Seal(_key, text, "n-server", setAt), [], DateTimeOffset.UnixEpoch);
    }
}
