using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>Per-pass progress: each pass and each apt-proxy fetch has its own, and the status lists them all.</summary>
public sealed class ProgressBoardTests
{
    [Fact]
    public async Task APassAndAProxyFetch_EachShowTheirOwnPatch_AndTheBoardListsBoth_UntilTheyEnd()
    {
        using var rig = new PipelineRig();
        rig.Server.Answer(FakeServerChannel.Gone());
        var (forPass, passBytes) = rig.Patch("KB-pass", size: 200_000, seed: 1);
        var (forProxy, proxyBytes) = rig.Patch("pkg_1.0_amd64.deb", size: 200_000, seed: 2);
        var passBody = new PausingStream(passBytes, pauseAt: 70_000);
        var proxyBody = new PausingStream(proxyBytes, pauseAt: 30_000);
        rig.Internet.Serve(forPass.Url, () => FakeWeb.Streamed(passBody, passBytes.Length));
        rig.Internet.Serve(forProxy.Url, () => FakeWeb.Streamed(proxyBody, proxyBytes.Length));
        var progress = new PatchProgress();

        Task<PatchOutcome> pass;
        using (rig.Board.Track(ProgressBoard.Pass, "1a2b3c4d", progress))
        {
            pass = rig.RunAsync(forPass, progress: progress);
            var proxy = rig.Pipeline.ObtainAsync(forProxy, CancellationToken.None);
            await Task.WhenAll(passBody.Paused, proxyBody.Paused).WaitAsync(Eventually.Bound);
            await Eventually.TrueAsync(() => rig.Board.Snapshot().Sum(t => t.Bytes) == 100_000, "both byte counts");

            Assert.Equal(new TransferProgress("KB-pass", ProgressStage.Internet, 70_000, 200_000), progress.Snapshot());
            Assert.Equal(
                [
                    new TransferStatus(ProgressBoard.Pass, "1a2b3c4d", "KB-pass", ProgressStage.Internet, 70_000, 200_000),
                    new TransferStatus(ProgressBoard.Proxy, "1", "pkg_1.0_amd64.deb", ProgressStage.Internet, 30_000, 200_000),
                ],
                rig.Board.Snapshot());

            proxyBody.Resume();
            Assert.True((await Eventually.Within(proxy, "the proxy fetch")).Result.Ok);
            Assert.Equal("KB-pass", Assert.Single(rig.Board.Snapshot()).Patch); // the proxy's entry is gone, the pass's untouched
            passBody.Resume();
            Assert.True((await Eventually.Within(pass, "the pass")).Applied);
            Assert.Null(progress.Snapshot()); // between patches
            Assert.Empty(rig.Board.Snapshot());
        }
    }

    [Fact]
    public void TheBoard_EscapesAndShortensPatchNames_AndListsAtMostFifty_OldestFirst()
    {
        var board = new ProgressBoard();
        var registrations = new List<IDisposable>();
        for (var i = 0; i < 60; i++)
        {
            var progress = new PatchProgress();
            progress.Set(i == 0 ? "evil\u001b[2J\nname" + new string('x', 300) : $"p{i}", ProgressStage.Lan, 10);
            registrations.Add(board.Track(ProgressBoard.Proxy, board.NextProxyId(), progress));
        }

        var listed = board.Snapshot();

        Assert.Equal(TransferStatus.MaxListed, listed.Count);
        Assert.Equal("1", listed[0].Id);
        Assert.DoesNotContain(listed[0].Patch, c => char.IsControl(c));
        Assert.EndsWith("…", listed[0].Patch, StringComparison.Ordinal);
        Assert.InRange(listed[0].Patch.Length, TransferStatus.MaxPatchChars, TransferStatus.MaxPatchChars * 2);
        Assert.Equal("p49", listed[^1].Patch);
        registrations.ForEach(r => r.Dispose());
        Assert.Empty(board.Snapshot());
    }

    [Fact]
    public void AnIdleOwner_IsNotListed()
    {
        var board = new ProgressBoard();
        using var idle = board.Track(ProgressBoard.Pass, "p", new PatchProgress());

        Assert.Empty(board.Snapshot());
    }
}
