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
public sealed class PatchPipelineSwarmTests(Xunit.Abstractions.ITestOutputHelper output)
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
    public async Task HitWhoseListedSourcesAreAllBusy_AsksTheServerAgain_AndTakesThePatchFromTheHoldersItNamesThen()
    {
        using var rig = new PipelineRig();
        rig.Transfer.LanBusyAskAgain = TimeSpan.FromSeconds(2);
        var (patch, bytes) = rig.Patch("KB6", size: (2 * Piece) + 1);
        var busy = new Uri($"http://peer-busy/v1/blobs/{patch.Sha256}");
        rig.Lan.Serve(busy, () => FakeWeb.Status(System.Net.HttpStatusCode.ServiceUnavailable)); // its upload slots are taken
        ServePieceList(rig, busy, bytes);
        var free = new Uri($"http://peer-free/v1/blobs/{patch.Sha256}"); // got the patch since, with free slots
        rig.Lan.ServeRanged(free, bytes);
        ServePieceList(rig, free, bytes);
        rig.Server.Answer(HitWith(rig, patch, Piece, ("node-busy", busy)), HitWith(rig, patch, Piece, ("node-free", free)));

        var outcome = await RunOnTheClockAsync(rig, patch);

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Lan, outcome.From);
        Assert.Equal(2, rig.Server.Lookups.Count);
        Assert.Equal(0, rig.Stats.LanFailures); // busy is no failure
        Assert.Equal(0, rig.Internet.Requests(patch.Url));
        Assert.Equal(patch.Sha256, rig.StoredSha(patch));
    }

    [Fact]
    public async Task HitWhoseSourcesStayBusy_IsAskedAgainOnlyWithinLanBusyWaitMax_ThenTheInternetAsBefore()
    {
        using var rig = new PipelineRig();
        rig.Transfer.LanBusyAskAgain = TimeSpan.FromSeconds(2);
        rig.Transfer.LanBusyWaitMax = TimeSpan.FromSeconds(10);
        var (patch, bytes) = rig.Patch("KB7", size: (2 * Piece) + 1);
        var busy = new Uri($"http://peer-busy/v1/blobs/{patch.Sha256}");
        rig.Lan.Serve(busy, () => FakeWeb.Status(System.Net.HttpStatusCode.ServiceUnavailable));
        ServePieceList(rig, busy, bytes);
        rig.Server.Answer(HitWith(rig, patch, Piece, ("node-busy", busy)));

        var started = rig.Time.GetUtcNow();
        var outcome = await RunOnTheClockAsync(rig, patch);

        Assert.True(outcome.Applied, outcome.Error);
        Assert.Equal(Origin.Internet, outcome.From);
        var waited = rig.Time.GetUtcNow() - started;
        output.WriteLine($"internet after {waited.TotalSeconds:0.0} s of the clock, {rig.Server.Lookups.Count} lookups");
        Assert.InRange(waited, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10 + (2 * 2) + 1)); // LanBusyWaitMax from the first hand-back, which came after 2 s, plus the last one's 2 s
        Assert.InRange(rig.Server.Lookups.Count, 5, 8); // asked again every 2 s or so, then once more after the failure
        Assert.Equal(1, rig.Stats.LanFailures);
    }

    /// <summary>
    /// Runs the pass, moving the fake clock in 20 ms steps while it waits (busy pauses, hand-backs); at most 30 s of real
    /// time. The clock moves whether or not the pass has reacted yet, so what a test measures on it runs over by the
    /// steps taken while the pass was busy: with 100 ms steps a loaded machine (2 cores busy) put the busy wait below at
    /// 15.3 to 16.9 s of the clock in 7 of 8 runs, against its 15 s bound.
    /// </summary>
    private static async Task<PatchOutcome> RunOnTheClockAsync(PipelineRig rig, PatchSpec patch)
    {
        var run = rig.RunAsync(patch);
        for (var real = System.Diagnostics.Stopwatch.StartNew(); !run.IsCompleted; await Task.Delay(2))
        {
            Assert.True(real.Elapsed < TimeSpan.FromSeconds(30), $"the pass did not end (the clock at {rig.Time.GetUtcNow():HH:mm:ss.fff}, {rig.Server.Lookups.Count} lookups)");
            rig.Time.Advance(TimeSpan.FromMilliseconds(20));
        }

        return await run;
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
