using System.Net;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Tests.Discovery;

/// <summary>
/// Conflicts (RFC 6762 §9): another host answering for our instance name with other data is one, and renames us while
/// we probe; our own packets, looped back by multicast loopback, are not, even when they carry the TXT of moments
/// before a change (seen on a 20-node LAN: 3 nodes warned about their own address just after an election).
/// </summary>
public sealed class MdnsResponderConflictTests
{
    private const int ConflictEvent = 611;
    private static readonly IPEndPoint OurAddress = new(FakeMdnsTransport.Nic.Address, 5353);
    private static readonly IPEndPoint OtherHost = new(IPAddress.Parse("10.0.0.9"), 5353);

    [Fact]
    public async Task OurOwnAnnouncementWithThePreviousTxt_LoopedBackAfterAChange_IsNotAConflict()
    {
        var rig = await MdnsResponderTests.Rig.StartedAsync();
        var before = LastAnnouncement(rig);

        // The election changes the TXT; our last announcement with the old TXT arrives (multicast loopback) just after.
        var updating = rig.Responder.UpdateTxtAsync(MdnsResponderTests.Txt("server", "4"), CancellationToken.None);
        await rig.RunAsync(TimeSpan.FromMilliseconds(50));
        rig.Lan.Deliver(before, OurAddress);

        Assert.Empty(Conflicts(rig));
        await rig.RunAsync(TimeSpan.FromSeconds(1.2));
        await rig.EndAsync(updating, "the TXT change");
    }

    [Fact]
    public async Task AnotherHostAnsweringForOurInstanceWithOtherData_IsAConflict()
    {
        var rig = await MdnsResponderTests.Rig.StartedAsync();
        rig.Lan.Deliver(DnsMessage.Response([new SrvRecord(rig.Ours.InstanceName, 120, true, 0, 0, 9999, DnsName.Parse("other.local"))]), OtherHost);
        Assert.Single(Conflicts(rig));
    }

    [Fact]
    public async Task OurOwnAddressAnsweringWithDataWeNeverSent_IsAConflict()
    {
        // Several nodes may run on one host (tests on loopback): the same address proves nothing.
        var rig = await MdnsResponderTests.Rig.StartedAsync();
        var foreign = MdnsResponderTests.Txt("client", "3").ToDictionary();
        foreign["id"] = "someoneelse";
        rig.Lan.Deliver(DnsMessage.Response([new TxtRecord(rig.Ours.InstanceName, 4500, true, foreign.Select(p => $"{p.Key}={p.Value}").ToList())]), OurAddress);
        Assert.Single(Conflicts(rig));
    }

    [Fact]
    public async Task OurPreviousTxt_FromAnotherHostLongAfterTheChange_IsAConflict()
    {
        var rig = await MdnsResponderTests.Rig.StartedAsync();
        var before = LastAnnouncement(rig);
        var updating = rig.Responder.UpdateTxtAsync(MdnsResponderTests.Txt("server", "4"), CancellationToken.None);
        await rig.RunAsync(TimeSpan.FromSeconds(30));
        await rig.EndAsync(updating, "the TXT change");

        rig.Lan.Deliver(before, OtherHost);
        Assert.Single(Conflicts(rig));
    }

    [Fact]
    public async Task AnotherHostAnsweringForOurInstanceWhileWeProbe_RenamesUs()
    {
        var rig = MdnsResponderTests.Rig.Create();
        var starting = rig.Responder.StartAsync(rig.Ours, CancellationToken.None);
        Assert.True(await rig.RunUntilAsync(TimeSpan.FromSeconds(1), () => rig.Lan.Sent.Count > 0), "no probe was sent");
        rig.Lan.Deliver(DnsMessage.Response([new SrvRecord(rig.Ours.InstanceName, 120, true, 0, 0, 9999, DnsName.Parse("other.local"))]), OtherHost);
        Assert.True(await rig.RunUntilAsync(TimeSpan.FromSeconds(5), () => starting.IsCompleted), "the responder did not finish probing and announcing");
        await starting;

        Assert.Equal(rig.Ours.Instance + " (2)", rig.Responder.Current?.Instance);
    }

    private static DnsMessage LastAnnouncement(MdnsResponderTests.Rig rig) =>
        rig.Lan.Sent.Last(p => p.IsLive && p.To is null && p.Message.Answers.OfType<TxtRecord>().Any()).Message;

    private static List<string> Conflicts(MdnsResponderTests.Rig rig) =>
        rig.Logs.Collector.GetSnapshot().Where(r => r.Id.Id == ConflictEvent).Select(r => r.Message).ToList();
}
