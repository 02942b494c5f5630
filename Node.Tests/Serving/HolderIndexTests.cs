using PeerPatch.Node.Serving;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>Where a newly elected server may pull the blobs it lacks from.</summary>
public sealed class HolderIndexTests
{
    private static readonly Uri A = new("http://10.0.0.1:47471/");
    private static readonly Uri B = new("http://10.0.0.2:47471/");

    [Fact]
    public void AHoldersFullInventory_EndsItAsAPlaceToPullWhatItLeavesOut_OtherHoldersStay()
    {
        var index = new HolderIndex();
        var kept = new string('a', 64);
        var gone = new string('b', 64);
        var shared = new string('c', 64);
        Assert.True(index.Add(Record(kept), A));
        Assert.True(index.Add(Record(gone), A));
        Assert.True(index.Add(Record(shared), A));
        Assert.True(index.Add(Record(shared), B));

        Assert.Equal(2, index.RetainHolder(A, new HashSet<string> { kept }));

        Assert.True(index.TryGet(kept, out var k) && k.Holders.SequenceEqual([A]));
        Assert.False(index.TryGet(gone, out _)); // no holder left: forgotten
        Assert.True(index.TryGet(shared, out var s) && s.Holders.SequenceEqual([B]));
        Assert.Equal(0, index.RetainHolder(A, new HashSet<string> { kept }));
    }

    private static PatchRecord Record(string sha) => new("test-1-amd64", "KB-" + sha[..4], sha, 1000, null, DateTimeOffset.UnixEpoch, "n1", 0, null);
}
