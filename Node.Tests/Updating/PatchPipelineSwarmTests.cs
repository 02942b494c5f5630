using System.Security.Cryptography;
using System.Text.Json;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Sources;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>
/// A hit that lists sources: in pieces from several when the server offers a piece size, whole from one after
/// another when not; the internet when none of them delivers.
/// </summary>
public sealed class PatchPipelineSwarmTests
{
    private const int Piece = PieceList.MinPieceSize;

    [Fact]
    public async Task HitWithSourcesAndPieces_APeerSendingABadPiece_IsDropped_AndThePatchCompletesFromTheLan()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB1", size: (3 * Piece) + 10);
        var peer = new Uri($"http://peer-b/v1/blobs/{patch.Sha256}");
        var (_, server) = rig.BlobUrl(patch);
        rig.Lan.ServeRanged(peer, PipelineRig.Flipped(bytes, 10));
        rig.Lan.ServeRanged(server, bytes);
        ServePieceList(rig, server, bytes);
        rig.Server.Answer(HitWith(rig, patch, Piece, ("node-b", peer), ("server", server)));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error + rig.SwarmLog);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Equal(0, rig.Internet.TotalRequests);
        Assert.Equal(1, rig.Stats.BadPieces);
        Assert.True(rig.SwarmLog.Has(480, "node-b"), rig.SwarmLog.ToString());
        Assert.Equal(patch.Sha256, rig.StoredSha(patch));
    }

    [Fact]
    public async Task HitWithSourcesButNoPieces_TriesTheSourcesInOrder_WholeFromTheFirstThatDelivers()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB2");
        var evicted = new Uri($"http://peer-b/v1/blobs/{patch.Sha256}"); // 404
        var holder = new Uri($"http://peer-c/v1/blobs/{patch.Sha256}");
        rig.Lan.ServeRanged(holder, bytes);
        rig.Server.Answer(HitWith(rig, patch, 0, ("node-b", evicted), ("node-c", holder)));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Equal((1, 1), (rig.Lan.Requests(evicted), rig.Lan.Requests(holder)));
        Assert.Equal(0, rig.Internet.TotalRequests);
    }

    [Fact]
    public async Task HitWhoseSourcesAllFail_FallsBackToTheInternet_AndAppliesOnlyVerifiedBytes()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB3", size: (2 * Piece) + 1);
        var peer = new Uri($"http://peer-b/v1/blobs/{patch.Sha256}");
        rig.Lan.ServeRanged(peer, PipelineRig.Flipped(bytes, 1));
        ServePieceList(rig, peer, bytes);
        var (_, server) = rig.BlobUrl(patch); // serves nothing: 404
        rig.Server.Answer(HitWith(rig, patch, Piece, ("node-b", peer), ("server", server)));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Internet, outcome.From);
        Assert.Equal(1, rig.Stats.ServerFallbacks);
        Assert.Equal(patch.Sha256, rig.StoredSha(patch));
        Assert.True(rig.Log.Lines.Any(l => l.Text.Contains("every LAN source failed", StringComparison.Ordinal)), rig.Log.ToString());
    }

    [Fact]
    public async Task HitWithoutSources_FetchesTheServersCopyAsBefore()
    {
        using var rig = new PipelineRig();
        var (patch, bytes) = rig.Patch("KB4");
        var (_, server) = rig.BlobUrl(patch);
        rig.Lan.Serve(server, bytes);
        rig.Server.Answer(PipelineRig.Hit(patch));

        var outcome = await Eventually.Within(rig.RunAsync(patch), "the pass");

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Equal(1, rig.Lan.Requests(server));
    }

    private static Func<Lookup, LookupResult> HitWith(PipelineRig rig, PatchSpec patch, int pieceSize, params (string Node, Uri Url)[] sources) =>
        _ => new LookupResult(LookupOutcome.Hit, patch.Sha256, patch.Size, rig.BlobUrl(patch).Relative, 0, 0, 0, [.. sources.Select(s => new PeerSource(s.Node, s.Url.AbsoluteUri))], pieceSize);

    private static void ServePieceList(PipelineRig rig, Uri blob, byte[] bytes)
    {
        var list = new PieceList(
            PipelineRig.Sha(bytes),
            bytes.Length,
            Piece,
            [.. Enumerable.Range(0, PieceList.CountFor(bytes.Length, Piece)).Select(i => Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(i * Piece, Math.Min(Piece, bytes.Length - (i * Piece))))))]);
        rig.Lan.Serve(new Uri(blob, BlobUrl.PiecesOf(list.Sha256)), JsonSerializer.SerializeToUtf8Bytes(list, StatusJsonContext.Default.PieceList));
    }
}
