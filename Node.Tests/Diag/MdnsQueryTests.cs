using System.Net;
using PeerPatch.Diag;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Tests.Diag;

public sealed class MdnsQueryTests
{
    private static readonly IPAddress From = IPAddress.Parse("10.1.1.7");

    [Fact]
    public void Resolve_JoinsPtrSrvTxtAndAddress_IntoNodes()
    {
        var instance = DnsName.Instance("peerpatch-n1", MdnsQuery.ServiceType);
        var host = DnsName.Parse("pp-n1.local");
        var nodes = MdnsQuery.Resolve(
        [
            (new PtrRecord(MdnsQuery.ServiceType, 120, instance), From),
            (new SrvRecord(instance, 120, true, 0, 0, 47470, host), From),
            (new TxtRecord(instance, 120, true, ["v=1", "id=n1", "role=server", "term=4", "http=47471"]), From),
            (new AddressRecord(host, 120, true, IPAddress.Parse("10.1.1.8")), From),
        ]);

        var node = Assert.Single(nodes);
        Assert.Equal(new FoundNode("n1", IPAddress.Parse("10.1.1.8"), 47471, "server", 4, "1"), node);
        Assert.Equal(new Uri("http://10.1.1.8:47471/"), node.BaseUri);
    }

    [Fact]
    public void Resolve_SkipsInstancesWithoutAnIdOrHttpPort_AndGoodbyes_AndFallsBackToTheSenderAddress()
    {
        var a = DnsName.Instance("peerpatch-a", MdnsQuery.ServiceType);
        var b = DnsName.Instance("peerpatch-b", MdnsQuery.ServiceType);
        var gone = DnsName.Instance("peerpatch-gone", MdnsQuery.ServiceType);
        var nodes = MdnsQuery.Resolve(
        [
            (new PtrRecord(MdnsQuery.ServiceType, 120, a), From),
            (new SrvRecord(a, 120, true, 0, 0, 47470, DnsName.Parse("pp-a.local")), From),
            (new TxtRecord(a, 120, true, ["v=1", "id=a", "http=47471"]), From), // no A record: the sender's address
            (new PtrRecord(MdnsQuery.ServiceType, 120, b), From),
            (new SrvRecord(b, 120, true, 0, 0, 47470, DnsName.Parse("pp-b.local")), From),
            (new TxtRecord(b, 120, true, ["v=1", "http=oops"]), From),
            (new PtrRecord(MdnsQuery.ServiceType, 0, gone), From),
            (new SrvRecord(gone, 120, true, 0, 0, 47470, DnsName.Parse("pp-g.local")), From),
            (new TxtRecord(gone, 120, true, ["v=1", "id=gone", "http=47471"]), From),
        ]);

        var node = Assert.Single(nodes);
        Assert.Equal("a", node.NodeId);
        Assert.Equal(From, node.Address);
    }
}
