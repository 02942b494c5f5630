using System.Net;
using PeerPatch.Node.Discovery;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Tests.Discovery;

public sealed class MdnsAnswersTests
{
    private static readonly DnsName Service = DnsName.Parse("_peerpatch._udp.local");
    private static readonly ServiceAdvert Advert = new("pc-1", Service, DnsName.Parse("pc-1.local"), 47470, new Dictionary<string, string> { ["id"] = "n1" });
    private static readonly IReadOnlyList<DnsRecord> Ours = Advert.Records(IPAddress.Parse("10.0.0.5"), new MdnsOptions());

    [Fact]
    public void ServiceTypeQuery_GetsThePtr_WithSrvTxtAndAddressAsAdditionals()
    {
        var (answers, additionals) = MdnsAnswers.For(DnsMessage.Query(new DnsQuestion(Service, DnsType.Ptr)), Ours);

        Assert.Equal(Advert.InstanceName, Assert.IsType<PtrRecord>(Assert.Single(answers)).Target);
        Assert.Contains(additionals, r => r is SrvRecord { Port: 47470 });
        Assert.Contains(additionals, r => r is TxtRecord);
        Assert.Contains(additionals, r => r is AddressRecord a && a.Address.Equals(IPAddress.Parse("10.0.0.5")));
    }

    [Fact]
    public void KnownAnswerWithEnoughTtl_IsNotRepeated()
    {
        var known = new PtrRecord(Service, 4000, Advert.InstanceName);
        var query = new DnsMessage(0, false, false, [new DnsQuestion(Service, DnsType.Ptr)], [known], [], []);

        Assert.Empty(MdnsAnswers.For(query, Ours).Answers);
    }

    [Fact]
    public void KnownAnswerAboutToExpire_IsRepeated()
    {
        var known = new PtrRecord(Service, 100, Advert.InstanceName);
        var query = new DnsMessage(0, false, false, [new DnsQuestion(Service, DnsType.Ptr)], [known], [], []);

        Assert.Single(MdnsAnswers.For(query, Ours).Answers);
    }

    [Fact]
    public void QueriesForOtherNames_GetNothing() =>
        Assert.Empty(MdnsAnswers.For(DnsMessage.Query(new DnsQuestion(DnsName.Parse("_http._tcp.local"), DnsType.Ptr)), Ours).Answers);

    [Fact]
    public void AnyQueryForTheInstance_GetsSrvAndTxt()
    {
        var (answers, _) = MdnsAnswers.For(DnsMessage.Query(new DnsQuestion(Advert.InstanceName, DnsType.Any)), Ours);

        Assert.Equal(2, answers.Count);
    }

    [Fact]
    public void ServiceEnumeration_ListsOurType()
    {
        var (answers, _) = MdnsAnswers.For(DnsMessage.Query(new DnsQuestion(ServiceAdvert.ServicesEnumeration, DnsType.Ptr)), Ours);

        Assert.Equal(Service, Assert.IsType<PtrRecord>(Assert.Single(answers)).Target);
    }

    [Fact]
    public void LegacyUnicastReply_EchoesIdAndQuestion_CapsTtlAt10_AndClearsCacheFlush()
    {
        var query = new DnsMessage(4242, false, false, [new DnsQuestion(Service, DnsType.Ptr)], [], [], []);
        var (answers, additionals) = MdnsAnswers.For(query, Ours);

        var reply = MdnsAnswers.LegacyUnicast(query, answers, additionals);

        Assert.Equal(4242, reply.Id);
        Assert.Equal(query.Questions, reply.Questions);
        Assert.Single(reply.Answers);
        Assert.NotEmpty(reply.Additionals);
        Assert.All(reply.AllRecords, r => Assert.True(r.Ttl <= 10));
        Assert.All(reply.AllRecords, r => Assert.False(r.CacheFlush));
    }
}
