using PeerPatch.Node.Http;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Http;

public sealed class LanSurveyTests
{
    [Fact]
    public void Sum_AddsSamplesOfTheSameTime_AndCarriesANodesLastSampleForward()
    {
        IReadOnlyList<HistorySample> a = [new(10, 1, 10, 100), new(20, 2, 20, 200), new(30, 3, 30, 300)];
        IReadOnlyList<HistorySample> b = [new(20, 5, 50, 500)]; // started later; no sample at 30 (slow to answer)

        var sum = LanSurvey.Sum([a, b]);

        Assert.Equal([new(10, 1, 10, 100), new(20, 7, 70, 700), new(30, 8, 80, 800)], sum);
    }

    [Fact]
    public void Sum_OfNothing_IsEmpty() => Assert.Empty(LanSurvey.Sum([[], []]));
}
