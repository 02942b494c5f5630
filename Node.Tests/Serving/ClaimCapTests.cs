using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Serving;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>
/// <see cref="ClaimPolicy.MaxLive"/>: the LAN's internet downloads at once. A new claim past it is queued (the asker
/// asks again), never one of a patch already claimed, and a slot frees when a claim ends in any way.
/// </summary>
public sealed class ClaimCapTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static ClaimPolicy Capped(int max) => new(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250), MaxLive: max);

    [Fact]
    public void PastTheCap_ANewPatchIsQueued_WhileAPatchAlreadyClaimedIsStillInFlightAndItsHolderKeepsIt()
    {
        var claims = new ClaimTable(Capped(2), new SystemRandomSource());
        var a = claims.Acquire("a", "a", "n1", Start);
        var b = claims.Acquire("b", "b", "n2", Start);

        var c = claims.Acquire("c", "c", "n3", Start);
        var otherOnA = claims.Acquire("a", "a", "n3", Start);
        var holderOnA = claims.Acquire("a", "a", "n1", Start);

        Assert.True(a.Granted && b.Granted);
        Assert.Equal((false, true, TimeSpan.FromMilliseconds(250)), (c.Granted, c.Queued, c.RetryAfter));
        Assert.Equal((false, false), (otherOnA.Granted, otherOnA.Queued)); // in flight: streamed from its holder
        Assert.Equal((true, a.ClaimId), (holderOnA.Granted, holderOnA.ClaimId));
    }

    [Theory]
    [InlineData("released")]
    [InlineData("pushed")]
    [InlineData("expired")]
    [InlineData("stalled")]
    public void ASlotFrees_WhenAClaimEnds(string how)
    {
        var time = new FakeTimeProvider(Start);
        var claims = new ClaimTable(Capped(1), new SystemRandomSource());
        var a = claims.Acquire("a", "a", "n1", time.GetUtcNow());
        Assert.True(claims.Acquire("b", "b", "n2", time.GetUtcNow()).Queued);

        switch (how)
        {
            case "released":
                claims.Release(a.ClaimId);
                break;
            case "pushed":
                claims.Complete("a");
                break;
            case "expired":
                time.Advance(TimeSpan.FromSeconds(15)); // no renewal for a lease
                break;
            default:
                for (var i = 0; i < 13; i++)
                {
                    time.Advance(TimeSpan.FromSeconds(5));
                    claims.Renew(a.ClaimId, 0, time.GetUtcNow()); // renewed, but no byte of progress for 60 s
                }

                break;
        }

        Assert.True(claims.Acquire("b", "b", "n2", time.GetUtcNow()).Granted, how);
    }

    [Fact]
    public void ZeroMeansNoLimit()
    {
        var claims = new ClaimTable(Capped(0), new SystemRandomSource());

        Assert.All(Enumerable.Range(0, 100), i => Assert.True(claims.Acquire("k" + i, "s" + i, "n" + i, Start).Granted));
    }

    /// <summary>
    /// Any sequence of asks, renewals (with or without progress), releases, pushes and time passing: the live claims
    /// never exceed the cap, a new patch is queued only when the cap is reached, and granted whenever there is room.
    /// </summary>
    [Fact]
    public void OverAnySequence_TheCapHolds_AndNeverQueuesWhenThereIsRoom()
    {
        var op = from kind in Gen.Choose(0, 5)
                 from patch in Gen.Choose(0, 7)
                 from node in Gen.Choose(0, 4)
                 from seconds in Gen.Choose(0, 40)
                 select (kind, patch, node, seconds);
        var cases = from max in Gen.Choose(1, 4) from ops in Gen.ListOf(op) select (max, ops);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var time = new FakeTimeProvider(Start);
            var claims = new ClaimTable(Capped(c.max), new SystemRandomSource());
            var ids = new Dictionary<string, (ulong Id, string Node)>();
            long progress = 0;
            foreach (var (kind, patch, node, seconds) in c.ops)
            {
                var now = time.GetUtcNow();
                var key = "p" + patch;
                var holder = "n" + node;
                switch (kind)
                {
                    case 0 or 1:
                        var live = claims.LiveCount(now);
                        var claimedBy = ids.TryGetValue(key, out var known) && claims.IsLive(known.Id, now) ? known.Node : null;
                        var decision = claims.Acquire(key, key, holder, now);
                        if (claimedBy is not null)
                        {
                            Assert.Equal((claimedBy == holder, false), (decision.Granted, decision.Queued));
                        }
                        else if (live >= c.max)
                        {
                            Assert.True(decision.Queued, $"{live} live of {c.max}: a new patch must be queued");
                        }
                        else
                        {
                            Assert.True(decision.Granted, $"{live} live of {c.max}: room, yet not granted");
                        }

                        if (decision.Granted)
                        {
                            ids[key] = (decision.ClaimId, holder);
                        }

                        break;
                    case 2 when ids.TryGetValue(key, out var renewed):
                        claims.Renew(renewed.Id, node == 0 ? 0 : ++progress, now);
                        break;
                    case 3 when ids.TryGetValue(key, out var released):
                        claims.Release(released.Id);
                        break;
                    case 4:
                        claims.Complete(key);
                        break;
                    default:
                        time.Advance(TimeSpan.FromSeconds(seconds));
                        break;
                }

                Assert.InRange(claims.LiveCount(time.GetUtcNow()), 0, c.max);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void TheSetting_IsCheckedAtStart()
    {
        var refused = new ServingOptionsValidator().Validate(null, new ServingOptions { InternetDownloadsAtOnce = -1 });

        Assert.True(refused.Failed);
        Assert.Contains("InternetDownloadsAtOnce", refused.FailureMessage, StringComparison.Ordinal);
        Assert.True(new ServingOptionsValidator().Validate(null, new ServingOptions { InternetDownloadsAtOnce = 0 }).Succeeded);
        Assert.Equal(0, new ServingOptions().InternetDownloadsAtOnce); // no limit unless set: the measured trade-off is in ServingOptions
    }
}
