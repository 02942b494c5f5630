using System.Net;
using PeerPatch.Node.Apt;

namespace PeerPatch.Node.Tests.Apt;

public sealed class RelayTests
{
    private static readonly IPAddress LanClient = IPAddress.Parse("10.0.0.5");

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("127.8.9.10", false)]
    [InlineData("[::1]", false)]
    [InlineData("localhost", false)]
    [InlineData("db.localhost", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("10.1.2.3", true)]
    [InlineData("192.168.1.20", true)]
    public async Task AProxyClientOnAnotherMachine_CannotReachThisMachinesLoopback(string host, bool allowed) =>
        Assert.Equal(allowed, await Relay.MayReachAsync(LanClient, host, CancellationToken.None));

    [Fact]
    public async Task AptOnThisMachine_MayUseLoopbackOrigins() =>
        Assert.True(await Relay.MayReachAsync(IPAddress.Loopback, "127.0.0.1", CancellationToken.None));
}
