using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>A piece fetch streams: what it allocates does not grow with the blob (no piece, no file in memory).</summary>
[Collection(CpuHeavy.Name)]
[Trait("Category", "Network")]
public sealed class SwarmFetcherMemoryTests(ITestOutputHelper output)
{
    private const int Size = 256 << 20;
    private const int Piece = 4 << 20;
    private const long Budget = 24L << 20;

    [Fact]
    public async Task FetchingA256MiBBlobInPieces_AllocatesFarLessThanTheBlob()
    {
        await using var sources = await FakeSources.StartAsync(3);
        using var rig = new SwarmRig(TimeSpan.FromSeconds(30));

        // Warm-up (JIT, connection pools, the array pool) with a small blob.
        sources.Set(SwarmRig.Bytes(3 * Piece, 1), Piece, SourceMode.Good, SourceMode.Good, SourceMode.Good);
        Assert.True((await rig.FetchAsync(sources)).Ok);

        sources.Set(SwarmRig.Bytes(Size, 2), Piece, SourceMode.Good, SourceMode.Good, SourceMode.Good);
        GC.Collect();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var result = await rig.FetchAsync(sources);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.True(result.Ok, result.Error);
        Assert.Equal(sources.Sha256, rig.StoredSha(sources.Sha256));
        output.WriteLine($"allocated {allocated / 1048576.0:0.0} MiB in the test process (fetcher and the fake holders) while fetching {Size >> 20} MiB in {Size / Piece} pieces");
        Assert.True(allocated < Budget, $"allocated {allocated >> 20} MiB for a {Size >> 20} MiB blob");
    }
}
