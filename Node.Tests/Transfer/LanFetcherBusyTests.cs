using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>
/// A source that answers 503 (its upload slots are taken) is busy, not broken: the single-source LAN fetch asks it
/// again after its Retry-After instead of sending the pass to the internet, for at most LanBusyWaitMax.
/// </summary>
public sealed class LanFetcherBusyTests : IDisposable
{
    private readonly SwarmRig _rig = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        _rig.Dispose();
    }

    [Fact]
    public async Task ASourceBusyTwice_IsAskedAgainAfterItsRetryAfter_AndTheBlobArrives()
    {
        await using var sources = await FakeSources.StartAsync(1);
        sources.BusyAnswers = 2;
        sources.Set(SwarmRig.Bytes(300_000, 7), 1 << 16, SourceMode.Busy);

        var result = await Fetcher(TimeSpan.FromMinutes(1)).FetchAsync(sources.List()[0].BlobUrl, SwarmRig.Record(sources.Sha256, 300_000), null, CancellationToken.None);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(sources.Sha256, _rig.StoredSha(sources.Sha256));
        Assert.Equal([503, 503, 200], sources.Answers(0).Select(a => a.Status));
        var answers = sources.Answers(0);
        Assert.True(answers[1].At - answers[0].At >= TimeSpan.FromMilliseconds(900), "the second ask came before the source's Retry-After of 1 s");
    }

    [Fact]
    public async Task ASourceBusyForLongerThanLanBusyWaitMax_IsAFailure_SoThePassFallsBack()
    {
        await using var sources = await FakeSources.StartAsync(1);
        sources.BusyAnswers = 1000;
        sources.Set(SwarmRig.Bytes(100_000, 8), 1 << 16, SourceMode.Busy);

        var result = await Fetcher(TimeSpan.FromSeconds(2)).FetchAsync(sources.List()[0].BlobUrl, SwarmRig.Record(sources.Sha256, 100_000), null, CancellationToken.None);

        Assert.False(result.Ok);
        Assert.Contains("busy (503)", result.Error, StringComparison.Ordinal);
        Assert.InRange(sources.Answers(0).Count, 2, 5); // asked again after each 1 s Retry-After, then given up
        Assert.Null(_rig.StoredSha(sources.Sha256));
        Assert.Equal(0, _rig.TempFiles);
    }

    private LanFetcher Fetcher(TimeSpan busyWaitMax) =>
        new(_http, _rig.Store, new NodeIdentity("node-self", "instance-self", "test-1-amd64", "test"),
            new TransferOptions { LanStallTimeout = TimeSpan.FromSeconds(5), LanBusyWaitMax = busyWaitMax }, new NodeStats(), TimeProvider.System);
}
