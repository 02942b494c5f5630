using System.Net;
using PeerPatch.Node.Discovery;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Tests.Discovery;

public sealed class BrowseCacheTests
{
    private static readonly DnsName Service = DnsName.Parse("_peerpatch._udp.local");
    private static readonly ServiceAdvert Advert = new("pc-1", Service, DnsName.Parse("pc-1.local"), 47470, new Dictionary<string, string> { ["id"] = "n1", ["role"] = "client" });
    private readonly DateTimeOffset _t0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
    private readonly BrowseCache _cache = new(Service);

    [Fact]
    public void Announcement_ResolvesAnInstance()
    {
        Assert.True(_cache.Apply(Advert.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions()), _t0));

        var service = Assert.Single(_cache.Snapshot());
        Assert.True(service.Resolved);
        Assert.Equal(47470, service.Port);
        Assert.Equal("n1", service.Txt["id"]);
        Assert.Equal(IPAddress.Parse("10.0.0.5"), Assert.Single(service.Addresses));
    }

    [Fact]
    public void Goodbye_RemovesTheInstanceOneSecondLater()
    {
        _cache.Apply(Advert.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions()), _t0);
        _cache.Apply(Advert.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions(), ttlOverride: 0), _t0);

        Assert.False(_cache.Expire(_t0 + TimeSpan.FromMilliseconds(500)));
        Assert.True(_cache.Expire(_t0 + TimeSpan.FromSeconds(1)));
        Assert.Empty(_cache.Snapshot());
    }

    [Fact]
    public void TtlExpiry_RemovesASilentInstance()
    {
        _cache.Apply(Advert.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions { OtherTtl = 10, HostTtl = 10 }), _t0);

        Assert.True(_cache.NeedsRefresh(_t0 + TimeSpan.FromSeconds(9)));
        Assert.True(_cache.Expire(_t0 + TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void ChangedTxt_IsReportedAsAChange()
    {
        _cache.Apply(Advert.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions()), _t0);
        var promoted = Advert with { Txt = new Dictionary<string, string> { ["id"] = "n1", ["role"] = "server" } };

        Assert.True(_cache.Apply(promoted.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions()), _t0));
        Assert.Equal("server", Assert.Single(_cache.Snapshot()).Txt["role"]);
        Assert.False(_cache.Apply(promoted.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions()), _t0));
    }

    [Fact]
    public void KnownAnswers_ListOnlyPtrsWithMoreThanHalfTheirTtlLeft()
    {
        _cache.Apply(Advert.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions { OtherTtl = 100 }), _t0);

        Assert.Single(_cache.KnownAnswers(_t0 + TimeSpan.FromSeconds(40)));
        Assert.Empty(_cache.KnownAnswers(_t0 + TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void ProbeProposals_MakeAnInstanceKnownBeforeItsAnnouncement()
    {
        var proposed = Advert.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions()).Where(r => r is not PtrRecord).ToList();

        Assert.True(_cache.Apply(proposed, _t0));

        var service = Assert.Single(_cache.Snapshot());
        Assert.True(service.Resolved);
        Assert.Equal("n1", service.Txt["id"]);
    }

    [Fact]
    public void DualStackAnnouncement_KeepsTheIPv4AndEveryIPv6Address()
    {
        var nic = new MdnsInterface("eth0", 2, IPAddress.Parse("10.0.0.5"), [IPAddress.Parse("fe80::1"), IPAddress.Parse("2001:db8::5")]);

        _cache.Apply(Advert.Records(nic, new MdnsOptions()), _t0);
        _cache.Expire(_t0 + TimeSpan.FromSeconds(2));

        Assert.Equal(3, Assert.Single(_cache.Snapshot()).Addresses.Count);
    }

    [Fact]
    public void CacheFlush_DropsAnOldAddressOfTheSameTypeOnly_OneSecondLater()
    {
        _cache.Apply(Advert.Records(new MdnsInterface("eth0", 2, IPAddress.Parse("10.0.0.5"), [IPAddress.Parse("fe80::1")]), new MdnsOptions()), _t0);
        var moved = new MdnsInterface("eth0", 2, IPAddress.Parse("10.0.0.9"), [IPAddress.Parse("fe80::1")]);

        _cache.Apply(Advert.Records(moved, new MdnsOptions()), _t0 + TimeSpan.FromSeconds(5));
        _cache.Expire(_t0 + TimeSpan.FromSeconds(6));

        var addresses = Assert.Single(_cache.Snapshot()).Addresses;
        Assert.DoesNotContain(IPAddress.Parse("10.0.0.5"), addresses);
        Assert.Contains(IPAddress.Parse("10.0.0.9"), addresses);
        Assert.Contains(IPAddress.Parse("fe80::1"), addresses);
    }

    [Fact]
    public void AFloodOfFakeAdverts_IsCappedAtMaxInstances()
    {
        for (var i = 0; i < BrowseCache.MaxInstances + 500; i++)
        {
            var fake = Advert with { Instance = "fake-" + i, Host = DnsName.Parse($"fake-{i}.local") };
            _cache.Apply(fake.Records(IPAddress.Parse("10.0.0.66"), new MdnsOptions()), _t0);
        }

        Assert.Equal(BrowseCache.MaxInstances, _cache.Snapshot().Count);
    }

    [Fact]
    public void OtherServiceTypes_AreIgnored()
    {
        var other = new ServiceAdvert("printer", DnsName.Parse("_ipp._tcp.local"), DnsName.Parse("printer.local"), 631, new Dictionary<string, string>());

        Assert.False(_cache.Apply(other.Records(IPAddress.Parse("10.0.0.9"), new MdnsOptions()), _t0));
        Assert.Empty(_cache.Snapshot());
    }
}
