using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>The method's decisions, as a pure table: answer and wait state in, next step out.</summary>
public sealed class ObtainPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
    private static readonly string Sha = new('a', 64);

    [Fact]
    public void AHit_IsTheOwnCopyOnlyOnTheServerThatHoldsIt_ElseALanFetch()
    {
        var hit = LookupResult.Hit(Sha, 10, "/v1/blobs/" + Sha);

        Assert.IsType<ObtainStep.UseOwnCopy>(Decide(hit, local: true, own: true));
        Assert.Equal(new ObtainStep.FetchFromLan("/v1/blobs/" + Sha), Decide(hit, local: true, own: false)); // another node holds it
        Assert.Equal(new ObtainStep.FetchFromLan("/v1/blobs/" + Sha), Decide(hit, local: false, own: false));
    }

    [Fact]
    public void AHitWithoutABlobUrl_AsACompactHitLeftUnexpandedWouldBe_GoesToTheInternet_NeverCrashes()
    {
        var compact = LookupResult.Hit(Sha, 10, null!) with { ServerListed = true, PieceSize = 1 << 20 };

        Assert.Equal(new ObtainStep.Fallback("the server's hit named no blob URL"), Decide(compact, local: false, own: false));
    }

    [Fact]
    public void AMiss_IsADownloadUnderItsClaim()
    {
        var miss = LookupResult.Miss(7, 15_000);

        Assert.Equal(new ObtainStep.DownloadUnderClaim(miss), Decide(miss));
    }

    [Fact]
    public void InFlightWithAStream_IsStreamed_FromARemoteServer_UntilTwoStreamsBrokeOff()
    {
        var answer = LookupResult.InFlight(5, 250, "/v1/blobs/" + Sha);
        var wait = new ClaimWait(T0, TimeSpan.FromMinutes(30));

        Assert.Equal(new ObtainStep.StreamFromHolder("/v1/blobs/" + Sha), ObtainPolicy.Decide(answer, false, false, wait, T0));
        Assert.IsType<ObtainStep.WaitAndAsk>(ObtainPolicy.Decide(answer, true, false, wait, T0)); // this node is the server: the push lands here
        wait.StreamFailed();
        Assert.IsType<ObtainStep.StreamFromHolder>(ObtainPolicy.Decide(answer, false, false, wait, T0));
        wait.StreamFailed();
        Assert.Equal(new ObtainStep.WaitAndAsk(TimeSpan.FromMilliseconds(250)), ObtainPolicy.Decide(answer, false, false, wait, T0));
    }

    [Fact]
    public void InFlight_WaitsWhatTheServerSays_AtLeastFiftyMilliseconds_UntilTheDeadline()
    {
        var wait = new ClaimWait(T0, TimeSpan.FromMinutes(30));

        Assert.Equal(new ObtainStep.WaitAndAsk(TimeSpan.FromMilliseconds(900)), ObtainPolicy.Decide(LookupResult.InFlight(0, 900), false, false, wait, T0));
        Assert.Equal(new ObtainStep.WaitAndAsk(TimeSpan.FromMilliseconds(50)), ObtainPolicy.Decide(LookupResult.InFlight(0, 0), false, false, wait, T0));
        Assert.IsType<ObtainStep.WaitAndAsk>(ObtainPolicy.Decide(LookupResult.InFlight(0, 250), false, false, wait, T0 + TimeSpan.FromMinutes(30)));
        Assert.Equal(
            new ObtainStep.Fallback("waited 00:30:00 for another node's download"),
            ObtainPolicy.Decide(LookupResult.InFlight(0, 250, "/v1/blobs/" + Sha), true, false, wait, T0 + TimeSpan.FromMinutes(30) + TimeSpan.FromTicks(1)));
    }

    [Fact]
    public void AnAnswerOfAnUnknownKind_IsWaitedOn_NeverTrusted()
    {
        var odd = new LookupResult((LookupOutcome)99, Sha, 10, "http://elsewhere/", 3, 1000, 250);

        Assert.Equal(new ObtainStep.WaitAndAsk(TimeSpan.FromMilliseconds(250)), Decide(odd));
    }

    [Fact]
    public void EveryAnswer_LeadsToOneBoundedStep()
    {
        var cases =
            from outcome in Gen.Elements(LookupOutcome.Hit, LookupOutcome.Miss, LookupOutcome.InFlight, (LookupOutcome)7)
            from retryAfter in Gen.Choose(-5, 60_000)
            from stream in Gen.Elements<string?>(null, "/v1/blobs/" + Sha)
            from local in Gen.Elements(false, true)
            from own in Gen.Elements(false, true)
            from failures in Gen.Choose(0, 4)
            from elapsedSeconds in Gen.Choose(0, 4000)
            select (outcome, retryAfter, stream, local, own, failures, elapsedSeconds);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var wait = new ClaimWait(T0, TimeSpan.FromMinutes(30));
            for (var i = 0; i < c.failures; i++)
            {
                wait.StreamFailed();
            }

            var answer = new LookupResult(c.outcome, Sha, 10, c.stream ?? (c.outcome == LookupOutcome.Hit ? "/v1/blobs/" + Sha : null), 9, 15_000, c.retryAfter);
            var step = ObtainPolicy.Decide(answer, c.local, c.own, wait, T0 + TimeSpan.FromSeconds(c.elapsedSeconds));
            switch (step)
            {
                case ObtainStep.StreamFromHolder:
                    Assert.True(c.outcome == LookupOutcome.InFlight && !c.local && c.failures < ObtainPolicy.MaxStreamFailures);
                    break;
                case ObtainStep.WaitAndAsk w:
                    Assert.InRange(w.RetryAfter, ObtainPolicy.MinRetryAfter, TimeSpan.FromMinutes(1));
                    Assert.True(c.elapsedSeconds <= 1800);
                    break;
                case ObtainStep.Fallback:
                    Assert.True(c.elapsedSeconds > 1800 && c.outcome is not (LookupOutcome.Hit or LookupOutcome.Miss));
                    break;
                case ObtainStep.UseOwnCopy:
                    Assert.True(c.outcome == LookupOutcome.Hit && c.local && c.own);
                    break;
                default:
                    Assert.True(c.outcome is LookupOutcome.Hit or LookupOutcome.Miss, step.ToString());
                    break;
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Fact]
    public void AClaimWait_BeginsOnce_EndsWithItsLength_AndExpiresJustAfterItsMax()
    {
        var wait = new ClaimWait(T0, TimeSpan.FromSeconds(10));

        Assert.Null(wait.End(T0));
        Assert.True(wait.Begin(T0 + TimeSpan.FromSeconds(1)));
        Assert.False(wait.Begin(T0 + TimeSpan.FromSeconds(2)));
        Assert.Equal(TimeSpan.FromSeconds(3), wait.Waited(T0 + TimeSpan.FromSeconds(4)));
        Assert.Equal(TimeSpan.FromSeconds(4), wait.End(T0 + TimeSpan.FromSeconds(5)));
        Assert.False(wait.Waiting);
        Assert.Equal(TimeSpan.Zero, wait.Waited(T0 + TimeSpan.FromSeconds(6)));
        Assert.False(wait.Expired(T0 + TimeSpan.FromSeconds(10)));
        Assert.True(wait.Expired(T0 + TimeSpan.FromSeconds(10) + TimeSpan.FromTicks(1)));
    }

    private static ObtainStep Decide(LookupResult answer, bool local = false, bool own = false) =>
        ObtainPolicy.Decide(answer, local, own, new ClaimWait(T0, TimeSpan.FromMinutes(30)), T0);
}
