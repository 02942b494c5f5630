using System.Net;
using FsCheck;
using FsCheck.Xunit;
using PeerPatch.Node.Http;

namespace PeerPatch.Node.Tests.Http;

/// <summary>
/// <see cref="UploadSlots"/> against a model: a GET gets a slot exactly when one is free and its client address holds
/// fewer than its share; giving slots back frees them for anyone.
/// </summary>
public sealed class UploadSlotsTests
{
    private static readonly IPAddress[] Clients =
        [IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2"), IPAddress.Parse("10.0.0.3"), IPAddress.Parse("fe80::1")];

    /// <summary>
    /// Random takes and releases from four addresses (null: a connection without an IP address), over random
    /// settings: the slots agree with the model at every step, and after all releases nothing is held.
    /// </summary>
    [Property(MaxTest = 300)]
    public void TakesExactlyWhenASlotIsFree_AndTheClientIsUnderItsShare(PositiveInt slotsSetting, NonNegativeInt perClientSetting, (byte Client, bool Release)[] steps)
    {
        var capacity = (slotsSetting.Get % 6) + 1;
        var perClient = perClientSetting.Get % 8;
        var slots = new UploadSlots(new HttpOptions { UploadSlots = capacity, UploadSlotsPerClient = perClient });
        var share = perClient == 0 || perClient > capacity ? capacity : perClient;
        Assert.Equal(share, slots.PerClient);
        var held = new List<(IPAddress? Client, UploadSlots.Lease Lease)>();
        foreach (var (pick, release) in steps)
        {
            var client = pick % 5 == 4 ? null : Clients[pick % 5];
            if (release)
            {
                var index = held.FindIndex(h => Equals(h.Client, client));
                if (index >= 0)
                {
                    held[index].Lease.Dispose();
                    held.RemoveAt(index);
                }
            }
            else
            {
                var sameClient = client is null ? 0 : held.Count(h => Equals(h.Client, client));
                var expectTaken = held.Count < capacity && (client is null || sameClient < share);
                var taken = slots.TryTake(client, out var lease, out var overShare);
                Assert.Equal(expectTaken, taken);
                Assert.Equal(!taken && held.Count < capacity, overShare);
                if (taken)
                {
                    held.Add((client, lease));
                }
            }

            Assert.Equal(held.Count, slots.Busy);
            Assert.All(Clients, c => Assert.Equal(held.Count(h => Equals(h.Client, c)), slots.HeldBy(c)));
        }

        foreach (var (_, lease) in held)
        {
            lease.Dispose();
        }

        Assert.Equal(0, slots.Busy);
        Assert.All(Clients, c => Assert.Equal(0, slots.HeldBy(c)));
    }

    [Fact]
    public void AnIpv4AddressSeenAsMappedIpv6_IsTheSameClient()
    {
        var slots = new UploadSlots(new HttpOptions { UploadSlots = 4, UploadSlotsPerClient = 1 });
        Assert.True(slots.TryTake(IPAddress.Parse("10.0.0.1"), out var first, out _));
        Assert.False(slots.TryTake(IPAddress.Parse("::ffff:10.0.0.1"), out _, out var overShare));
        Assert.True(overShare);
        first.Dispose();
        Assert.True(slots.TryTake(IPAddress.Parse("::ffff:10.0.0.1"), out var second, out _));
        Assert.Equal(1, slots.HeldBy(IPAddress.Parse("10.0.0.1")));
        second.Dispose();
        Assert.Equal(0, slots.Busy);
    }
}
