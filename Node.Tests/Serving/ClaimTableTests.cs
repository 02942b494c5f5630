using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Serving;

namespace PeerPatch.Node.Tests.Serving;

public sealed class ClaimTableTests
{
    private static readonly ClaimPolicy Policy = new(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));
    private readonly ClaimTable _claims = new(Policy, new SequenceRandom());

    [Fact]
    public void FirstAsker_GetsTheClaim_OthersAreToldInFlight()
    {
        var first = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        var second = _claims.Acquire("k", "sha", "b", _time.GetUtcNow());

        Assert.True(first.Granted);
        Assert.False(second.Granted);
        Assert.Equal(Policy.RetryAfter, second.RetryAfter);
    }

    [Fact]
    public void HolderAskingAgain_KeepsTheSameClaim()
    {
        var first = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        var again = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());

        Assert.Equal(first.ClaimId, again.ClaimId);
    }

    [Fact]
    public void ClaimNotRenewed_ExpiresAndPassesToTheNextAsker()
    {
        var first = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        _time.Advance(Policy.Lease);

        var next = _claims.Acquire("k", "sha", "b", _time.GetUtcNow());

        Assert.True(next.Granted);
        Assert.NotEqual(first.ClaimId, next.ClaimId);
        Assert.False(_claims.Renew(first.ClaimId, 100, _time.GetUtcNow()));
    }

    [Fact]
    public void AHolderWhoseDownloadIsDone_KeepsItsClaimWhileItsPushDeliversBytes_PastTheLeaseAndTheStallTimeout()
    {
        var claim = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        Assert.True(_claims.Renew(claim.ClaimId, 1000, _time.GetUtcNow())); // the whole download

        for (var second = 0; second < 2 * Policy.StallTimeout.TotalSeconds; second += 10)
        {
            _time.Advance(TimeSpan.FromSeconds(10)); // no renewal, no more downloaded bytes: only the push's
            _claims.PushProgress("sha", "a", _time.GetUtcNow());
            Assert.False(_claims.Acquire("k", "sha", "b", _time.GetUtcNow()).Granted);
        }

        _time.Advance(Policy.Lease); // the push stopped too
        Assert.True(_claims.Acquire("k", "sha", "b", _time.GetUtcNow()).Granted);
    }

    [Fact]
    public void APushFromAnotherNode_OrOfAnotherBlob_DoesNotKeepAClaim_NorBringsADeadOneBack()
    {
        var claim = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        for (var i = 0; i < 3; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(6));
            _claims.PushProgress("sha", "b", _time.GetUtcNow()); // b names another holder
            _claims.PushProgress("other", "a", _time.GetUtcNow());
        }

        Assert.False(_claims.IsLive(claim.ClaimId, _time.GetUtcNow()));
        _claims.PushProgress("sha", "a", _time.GetUtcNow());
        Assert.False(_claims.IsLive(claim.ClaimId, _time.GetUtcNow()));
        Assert.True(_claims.Acquire("k", "sha", "b", _time.GetUtcNow()).Granted);
    }

    [Fact]
    public void AnAdoptedClaim_KeepsItsIdAndProgress_AndIsInFlightForOthers_ButAKnownIdIsNeverAdopted()
    {
        var expired = _claims.Acquire("k2", "sha2", "a", _time.GetUtcNow());
        _time.Advance(Policy.Lease);

        Assert.True(_claims.Adopt(9001, "k", "sha", "a", 5000, _time.GetUtcNow()));
        var other = _claims.Acquire("k", "sha", "b", _time.GetUtcNow());
        Assert.False(other.Granted);
        Assert.Equal(5000, other.HolderBytes);
        Assert.True(_claims.Renew(9001, 6000, _time.GetUtcNow()));
        Assert.True(_claims.IsClaimed("sha", _time.GetUtcNow()));

        Assert.False(_claims.Adopt(9001, "k", "sha", "a", 6000, _time.GetUtcNow())); // already here
        Assert.False(_claims.Adopt(expired.ClaimId, "k2", "sha2", "a", 0, _time.GetUtcNow())); // known, dead, no progress since: not brought back
        Assert.False(_claims.Adopt(expired.ClaimId, "k2", "sha2", "b", 10, _time.GetUtcNow())); // nor by another node
        Assert.False(_claims.Adopt(9002, "k", "sha", "c", 1, _time.GetUtcNow())); // "a" holds a live claim for the key
        Assert.True(_claims.Adopt(expired.ClaimId, "k2", "sha2", "a", 10, _time.GetUtcNow())); // its holder went on elsewhere: taken back
        Assert.False(_claims.Acquire("k2", "sha2", "b", _time.GetUtcNow()).Granted);
    }

    [Fact]
    public void RenewedWithProgress_StaysWithItsHolder()
    {
        var claim = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        for (var i = 1; i <= 20; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            Assert.True(_claims.Renew(claim.ClaimId, i * 1000, _time.GetUtcNow()));
        }

        var other = _claims.Acquire("k", "sha", "b", _time.GetUtcNow());
        Assert.False(other.Granted);
        Assert.Equal(20_000, other.HolderBytes);
    }

    [Fact]
    public void RenewedWithoutProgress_IsRevokedAfterTheStallTimeout()
    {
        var claim = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(_claims.Renew(claim.ClaimId, 500, _time.GetUtcNow()));

        var renewed = true;
        for (var i = 0; i < 13 && renewed; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            renewed = _claims.Renew(claim.ClaimId, 500, _time.GetUtcNow());
        }

        Assert.False(renewed);
        Assert.True(_claims.Acquire("k", "sha", "b", _time.GetUtcNow()).Granted);
    }

    [Fact]
    public void Released_PassesAtOnce()
    {
        var claim = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        _claims.Release(claim.ClaimId);

        Assert.True(_claims.Acquire("k", "sha", "b", _time.GetUtcNow()).Granted);
    }

    [Fact]
    public void StoringTheBlob_EndsItsClaims()
    {
        _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        _claims.Complete("sha");

        Assert.Equal(0, _claims.Count);
    }

    [Fact]
    public void DeadClaimsNobodyAsksAboutAgain_AreDroppedAsNewClaimsAreGranted()
    {
        for (var i = 0; i < 100; i++)
        {
            _claims.Acquire("dead" + i, "sha" + i, "a", _time.GetUtcNow());
        }

        _time.Advance(Policy.Lease);
        for (var i = 0; i < 300; i++)
        {
            var key = "live" + i;
            var granted = _claims.Acquire(key, "s" + i, "b", _time.GetUtcNow());
            _claims.Release(granted.ClaimId);
        }

        Assert.Equal(0, _claims.Count);
    }

    [Fact]
    public void ClockJumpingBackwards_DoesNotExtendAClaimForever()
    {
        var claim = _claims.Acquire("k", "sha", "a", _time.GetUtcNow());
        _time.AdjustTime(_time.GetUtcNow() - TimeSpan.FromHours(1));
        _time.Advance(TimeSpan.FromHours(1) + Policy.Lease);

        Assert.True(_claims.Acquire("k", "sha", "b", _time.GetUtcNow()).Granted);
        Assert.False(_claims.Renew(claim.ClaimId, 1, _time.GetUtcNow()));
    }

    private sealed class SequenceRandom : IRandomSource
    {
        private ulong _next;

        public ulong NextId() => ++_next;

        public double NextDouble() => 0.5;
    }
}
