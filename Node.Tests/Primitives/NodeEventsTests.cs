using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Http;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Primitives;

public sealed class NodeEventsTests
{
    [Fact]
    public void Ring_KeepsTheNewestEvents_UpToItsCapacity()
    {
        var events = new NodeEvents(new FakeTimeProvider());
        for (var i = 0; i < NodeEvents.Capacity + 10; i++)
        {
            events.Add(NodeEventKinds.Push, $"e{i}");
        }

        var all = events.Recent(int.MaxValue);
        Assert.Equal(NodeEvents.Capacity, all.Count);
        Assert.Equal("e10", all[0].Message);
        Assert.Equal($"e{NodeEvents.Capacity + 9}", all[^1].Message);
        Assert.Equal(["e508", "e509"], events.Recent(2).Select(e => e.Message));
    }

    [Fact]
    public void CountSince_CountsOneKind_FromAPointInTime()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var events = new NodeEvents(time);
        events.Add(NodeEventKinds.Election, "old");
        time.Advance(TimeSpan.FromHours(2));
        events.Add(NodeEventKinds.Election, "new");
        events.Add(NodeEventKinds.Push, "push");

        Assert.Equal(1, events.CountSince(NodeEventKinds.Election, time.GetUtcNow() - TimeSpan.FromHours(1)));
        Assert.Equal(2, events.CountSince(NodeEventKinds.Election, DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void History_SamplesAtWallClockMultiplesOfTheInterval_OncePerInterval()
    {
        var stats = new NodeStats();
        var history = new StatsHistory(stats, new FakeTimeProvider());
        stats.AddInternetBytes(5);
        history.Sample(DateTimeOffset.FromUnixTimeSeconds(1003));
        history.Sample(DateTimeOffset.FromUnixTimeSeconds(1009)); // same interval: ignored
        stats.AddLanBytesFetched(7);
        history.Sample(DateTimeOffset.FromUnixTimeSeconds(1011));

        Assert.Equal([new HistorySample(1000, 5, 0, 0), new HistorySample(1010, 5, 7, 0)], history.Samples());
        Assert.Equal([new HistorySample(1010, 5, 7, 0)], history.Samples(1005));
    }
}
