using System.Net;
using PeerPatch.Node.Serving;
using PeerPatch.Protocol.Http;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>The server's own blob URL for an asker: the same text as <see cref="BlobUrl.On"/>, however often it is asked.</summary>
public sealed class ServerAddressesTests
{
    private const string Sha = "9292076ac40b8ffabeea68a9ca831471341f22fddb62c8516232e14f4b980f2a";

    [Theory]
    [InlineData("127.0.0.1", 19001)]
    [InlineData("127.3.2.1", 80)]
    [InlineData("::1", 65535)]
    [InlineData("::ffff:127.0.0.1", 8080)]
    public void ALoopbackAsker_GetsTheServersUrlOnItsOwnAddress_AsBlobUrlSpellsIt(string asker, int port)
    {
        var addresses = new ServerAddresses(TimeProvider.System);
        var address = IPAddress.Parse(asker);
        var expected = BlobUrl.On(PatchServer.HttpBase(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port), Sha).ToString();

        Assert.Equal(expected, addresses.UrlFor(address, port, Sha));
        Assert.Equal(expected, addresses.UrlFor(address, port, Sha)); // the kept base gives the same text
        Assert.Equal(expected.Replace(Sha, new string('0', 64), StringComparison.Ordinal), addresses.UrlFor(address, port, new string('0', 64)));
    }

    [Fact]
    public void AnAskerOnNoSubnetOfThisNode_GetsNone()
    {
        Assert.Null(new ServerAddresses(TimeProvider.System).UrlFor(IPAddress.Parse("203.0.113.9"), 80, Sha));
        Assert.Null(new ServerAddresses(TimeProvider.System).UrlFor(IPAddress.Parse("2001:db8::1"), 80, Sha));
    }
}
