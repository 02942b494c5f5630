using System.Net;
using PeerPatch.Node.Discovery;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Tests.Discovery;

/// <summary>When the browser asks (RFC 6762 §5.2) and how a big query is split (§7.2): pure, with simulated time.</summary>
public sealed class MdnsQuestionScheduleTests
{
    private static readonly DnsName Service = DnsName.Parse("_peerpatch._udp.local");
    private readonly DateTimeOffset _t0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void PtrOfASilentInstance_IsRefreshedFourTimes_At80To95PercentOfItsTtl_ThenNoMore()
    {
        var cache = new BrowseCache(Service);
        cache.Apply([new PtrRecord(Service, 100, DnsName.Instance("pc-1", Service))], _t0);

        var refreshes = new List<int>();
        for (var s = 0; s < 100; s++)
        {
            if (cache.NeedsRefresh(_t0 + TimeSpan.FromSeconds(s)))
            {
                refreshes.Add(s);
                cache.Refreshed(_t0 + TimeSpan.FromSeconds(s));
            }
        }

        Assert.Equal([80, 85, 90, 95], refreshes);
    }

    [Fact]
    public void InstanceWithoutSrv_IsAskedAtDoublingIntervals_NotEverySecond()
    {
        var cache = new BrowseCache(Service);
        var name = DnsName.Instance("pc-1", Service);
        cache.Apply([new PtrRecord(Service, 4500, name)], _t0);

        var asks = new List<int>();
        for (var s = 0; s < 4500; s++)
        {
            var now = _t0 + TimeSpan.FromSeconds(s);
            var due = cache.Unresolved(now);
            if (due.Count > 0)
            {
                asks.Add(s);
                cache.Asked(due, now);
            }
        }

        Assert.Equal([0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 2047, 4095], asks);
    }

    [Fact]
    public void ReceivedSrv_ResetsTheBackOff_AndItsRefreshes()
    {
        var cache = new BrowseCache(Service);
        var name = DnsName.Instance("pc-1", Service);
        var host = DnsName.Parse("pc-1.local");
        cache.Apply([new PtrRecord(Service, 4500, name), new TxtRecord(name, 4500, true, ["id=n1"])], _t0);
        cache.Asked(cache.Unresolved(_t0), _t0);
        cache.Apply([new SrvRecord(name, 100, true, 0, 0, 47470, host)], _t0 + TimeSpan.FromSeconds(0.5));

        Assert.Empty(cache.Unresolved(_t0 + TimeSpan.FromSeconds(50)));
        var refreshes = new List<int>();
        for (var s = 1; s < 101; s++)
        {
            var now = _t0 + TimeSpan.FromSeconds(s + 0.5);
            var due = cache.Unresolved(now);
            if (due.Count > 0)
            {
                refreshes.Add(s);
                cache.Asked(due, now);
            }
        }

        // 80, 85, 90, 95 % of the SRV's 100 s; then it expires (Expire is not called here) and no more is asked.
        Assert.Equal([80, 85, 90, 95], refreshes);
    }

    [Fact]
    public void Jitter_SpreadsRefreshesOfOneInstanceAcrossBrowsers()
    {
        var times = new HashSet<int>();
        for (var b = 0; b < 10; b++)
        {
            var r = new Random(b);
            var cache = new BrowseCache(Service, r.NextDouble);
            cache.Apply([new PtrRecord(Service, 4500, DnsName.Instance("pc-1", Service))], _t0);
            var s = 0;
            while (s <= 4500 && !cache.NeedsRefresh(_t0 + TimeSpan.FromSeconds(s))) // never due within the TTL: fails below
            {
                s++;
            }

            Assert.InRange(s, 3600, 3600 + 90); // 80 % of 4500 s, plus up to 2 %
            times.Add(s);
        }

        Assert.True(times.Count >= 8, $"10 browsers refresh at only {times.Count} distinct seconds");
    }

    [Fact]
    public void BrowserTick_WithACacheFullOfInstances_GrowsLinearly_NotWithTheSquare()
    {
        // MaxInstances (4096) is what a flood of forged adverts fills every node's cache with; the browser's loop runs
        // Expire, Unresolved and NeedsRefresh every second, so their cost must grow linearly, not with N squared. A tick
        // over the full cache is timed against 8 ticks over a cache of an eighth of it, interleaved, the fastest of 15
        // each: linear growth reads about 1x, quadratic about 8x. (This test asserted 60 ms for a tick; under the
        // suite's load on 2 cores a tick's fastest of 5 once read 66 ms, so a bound in milliseconds measured the machine.)
        var full = Filled(BrowseCache.MaxInstances);
        var eighth = Filled(BrowseCache.MaxInstances / 8);
        var (bestFull, bestEighths) = (TimeSpan.MaxValue, TimeSpan.MaxValue);
        for (var s = 1; s <= 15; s++)
        {
            var now = _t0 + TimeSpan.FromSeconds(s);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Tick(full, now);
            bestFull = watch.Elapsed < bestFull ? watch.Elapsed : bestFull;
            watch.Restart();
            for (var i = 0; i < 8; i++)
            {
                Tick(eighth, now);
            }

            bestEighths = watch.Elapsed < bestEighths ? watch.Elapsed : bestEighths;
        }

        Assert.Equal(BrowseCache.MaxInstances, full.Snapshot().Count);
        var ratio = bestFull / bestEighths;
        Assert.True(ratio < 3, $"one tick over {BrowseCache.MaxInstances} instances took {bestFull.TotalMilliseconds:F2} ms, 8 over {BrowseCache.MaxInstances / 8} took {bestEighths.TotalMilliseconds:F2} ms: {ratio:F1}x (linear about 1x, quadratic 8x)");

        BrowseCache Filled(int count)
        {
            var cache = new BrowseCache(Service);
            var options = new MdnsOptions();
            for (var k = 1; k <= count; k++)
            {
                var advert = new ServiceAdvert($"peerpatch-n{k:x16}", Service, DnsName.Parse($"pp-n{k:x16}.local"), 47470, new Dictionary<string, string> { ["id"] = $"n{k:x16}" });
                cache.Apply(advert.Records(IPAddress.Parse("10.0.0.1"), options), _t0);
            }

            return cache;
        }

        static void Tick(BrowseCache cache, DateTimeOffset now)
        {
            cache.Expire(now);
            cache.Unresolved(now);
            cache.NeedsRefresh(now);
        }
    }

    [Fact]
    public void QueryWith500KnownAnswers_IsSplitIntoFramesWithTcOnAllButTheLast_AndDecodesWhole()
    {
        var known = Enumerable.Range(1, 500).Select(k => (DnsRecord)new PtrRecord(Service, 4500, DnsName.Instance($"peerpatch-n{k:x15}", Service))).ToList();

        var packets = MdnsQueryPackets.Build([new DnsQuestion(Service, DnsType.Ptr)], known);

        Assert.True(packets.Count > 1);
        var decoded = packets.Select(p => DnsCodec.Encode(p)).Select(b => (Bytes: b.Length, Message: DnsCodec.Decode(b))).ToList();
        Assert.All(decoded, d => Assert.InRange(d.Bytes, 1, MdnsLimits.MaxFrameBytes));
        Assert.All(decoded.Take(decoded.Count - 1), d => Assert.True(d.Message.Truncated));
        Assert.False(decoded[^1].Message.Truncated);
        Assert.Single(decoded[0].Message.Questions);
        Assert.All(decoded.Skip(1), d => Assert.Empty(d.Message.Questions));
        Assert.Equal(known, decoded.SelectMany(d => d.Message.Answers));
    }

    [Fact]
    public void ThousandQuestions_AreSplitIntoFrames_EachAQueryOfItsOwn()
    {
        var questions = Enumerable.Range(1, 500).SelectMany(k => new[] { new DnsQuestion(DnsName.Instance($"peerpatch-n{k:x15}", Service), DnsType.Srv), new DnsQuestion(DnsName.Instance($"peerpatch-n{k:x15}", Service), DnsType.Txt) }).ToList();

        var packets = MdnsQueryPackets.Build(questions, []);

        Assert.All(packets, p => Assert.InRange(DnsCodec.Encode(p).Length, 1, MdnsLimits.MaxFrameBytes));
        Assert.All(packets, p => Assert.False(p.Truncated));
        Assert.Equal(questions, packets.SelectMany(p => DnsCodec.Decode(DnsCodec.Encode(p)).Questions));
    }

    [Fact]
    public void SmallQuery_IsOnePacket()
    {
        var packets = MdnsQueryPackets.Build([new DnsQuestion(Service, DnsType.Ptr)], [new PtrRecord(Service, 4500, DnsName.Instance("pc-1", Service))]);

        var only = Assert.Single(packets);
        Assert.False(only.Truncated);
        Assert.Single(only.Answers);
    }
}
