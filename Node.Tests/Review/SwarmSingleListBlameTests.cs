using PeerPatch.Node.Tests.Transfer;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Http;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Review;

/// <summary>
/// Review finding: when only one source answers the piece list (the others time out or fail it without being "bad"),
/// GetPieceListsAsync returns that one list with EVERY source (SwarmFetcher.Pieces.cs, the groups.Count == 1 branch).
/// If that single list is a liar's self-consistent made-up list, the honest non-voucher's correct pieces fail it:
/// the honest holder is logged as sending a bad piece (480), counted in BadPieces and dropped, and the fetch fails
/// although the honest holder could have served the whole blob.
/// </summary>
[Trait("Category", "Network")]
public sealed class SwarmSingleListBlameTests(ITestOutputHelper output) : IDisposable
{
    private readonly HostileSourceTestsAccess _rig = new();

    public void Dispose() => _rig.Dispose();

    [Fact]
    public async Task AnHonestHolderWhosePieceListAnswerFailed_IsNotBlamedForBadPieces_AgainstALiarsOnlyList()
    {
        const int piece = 64 * 1024;
        const int size = (8 * piece) + 123;
        var real = SwarmRig.Bytes(size, 11);
        var fake = SwarmRig.Bytes(size, 99);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(real));
        var lieJson = HostileSourceTestsAccess.ListJson(fake, piece, sha);

        await using var liar = new HostileSource(async (r, s, ct) =>
        {
            if (r.IsPieceList)
            {
                await HostileSource.HeadAsync(s, "200 OK", ct, "Content-Type: application/json", $"Content-Length: {lieJson.Length}");
                await s.WriteAsync(lieJson, ct);
                return;
            }

            var (from, to) = (r.From!.Value, r.To!.Value);
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{size}", $"Content-Length: {to - from + 1}");
            await s.WriteAsync(fake.AsMemory((int)from, (int)(to - from + 1)), ct);
        });

        // Honest bytes; its piece list answer is a transient 500 (not "bad": it is not dropped, it is not a voucher).
        await using var honest = new HostileSource(async (r, s, ct) =>
        {
            if (r.IsPieceList)
            {
                await HostileSource.HeadAsync(s, "500 Internal Server Error", ct, "Content-Length: 0");
                return;
            }

            var (from, to) = (r.From!.Value, r.To!.Value);
            await HostileSource.HeadAsync(s, "206 Partial Content", ct, $"Content-Range: bytes {from}-{to}/{size}", $"Content-Length: {to - from + 1}");
            await s.WriteAsync(real.AsMemory((int)from, (int)(to - from + 1)), ct);
        });

        var (fetcher, stats, log) = _rig.Swarm(TimeSpan.FromSeconds(2));
        IReadOnlyList<SwarmSource> sources = [new SwarmSource("node-liar", liar.BlobUrl(sha), false), new SwarmSource("node-honest", honest.BlobUrl(sha), false)];

        var result = await fetcher.FetchAsync(sources, piece, SwarmRig.Record(sha, size), null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        output.WriteLine($"ok={result.Ok} error={result.Error} badPieces={stats.BadPieces}");
        output.WriteLine(log.ToString());
        Assert.False(log.Has(480, "node-honest"), "the honest holder was logged as sending a bad piece, judged by the liar's list:\n" + log);
        Assert.Equal(0, stats.BadPieces);
    }
}
