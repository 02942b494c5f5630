using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>
/// A retired PC leaves the compliance records after ComplianceForgetAfter (found by a probe: a stale node stayed
/// stale for good, so `peerpatch-diag compliance` exited 2 forever, and hand-overs could carry such ghosts on).
/// </summary>
public sealed class ComplianceForgetTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ANodeSilentLongerThanForgetAfter_LeavesViewsCountsHandOversAndTheDatabase_AndReturnsWithItsNextReport()
    {
        var db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        var options = new ServingOptions { ComplianceForgetAfter = TimeSpan.FromDays(30) };
        var book = new ComplianceBook(db, options, _time, NullLogger<ComplianceBook>.Instance);
        book.Record(Row("n-retired", _time.GetUtcNow()));
        book.Record(Row("n-daily", _time.GetUtcNow()));

        _time.Advance(TimeSpan.FromDays(29)); // stale, not yet forgotten
        book.Record(Row("n-daily", _time.GetUtcNow()));
        Assert.Contains(book.View(ComplianceFilter.All).Nodes, n => n.NodeId == "n-retired" && n.Stale);
        Assert.Equal(2, book.View(ComplianceFilter.All).ExitCode()); // diag compliance: a stale node

        _time.Advance(TimeSpan.FromDays(2));
        book.Record(Row("n-daily", _time.GetUtcNow()));
        Assert.Equal(["n-daily"], book.View(ComplianceFilter.All).Nodes.Select(n => n.NodeId));
        Assert.Equal(0, book.View(ComplianceFilter.All).ExitCode());
        Assert.Equal(0, book.Counts().Sum(c => c.StaleNodes));
        Assert.Equal(["n-daily"], book.Known(_time.GetUtcNow()).Select(k => k.NodeId));
        Assert.Equal(["n-daily"], db.LoadCompliance().Select(r => r.NodeId)); // a restarted server does not bring it back

        // Another node hands the forgotten one on (its last sighting 31 days ago): it stays forgotten.
        book.Learn([new ComplianceKnownNode("n-retired", "old-pc", null, "test-1-amd64", (long)TimeSpan.FromDays(31).TotalMilliseconds)], _time.GetUtcNow());
        Assert.DoesNotContain(book.Snapshot(), n => n.NodeId == "n-retired");

        // The PC was only away: its next report brings it back.
        book.Record(Row("n-retired", _time.GetUtcNow()));
        Assert.Equal(["n-daily", "n-retired"], book.Snapshot().Select(n => n.NodeId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ANodeThatReportedWhileTheServersClockRanAYearAhead_IsStillForgotten30DaysAfterTheClockWasSetRight()
    {
        var db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        var clock = new JumpyTimeProvider(); // the wall clock, which can be set back
        var book = new ComplianceBook(db, new ServingOptions { ComplianceForgetAfter = TimeSpan.FromDays(30) }, clock, NullLogger<ComplianceBook>.Instance);

        clock.Jump(TimeSpan.FromDays(365)); // a dead RTC battery, a wrong NTP answer: the server's clock a year ahead
        book.Record(Row("n-retired", clock.GetUtcNow())); // the PC's last report before it was retired
        clock.Jump(TimeSpan.FromDays(-365)); // the clock set right
        book.Record(Row("n-daily", clock.GetUtcNow()));
        Assert.Contains(book.Snapshot(), n => n.NodeId == "n-retired");

        clock.Jump(TimeSpan.FromDays(31)); // the retired PC has been silent 31 days
        book.Record(Row("n-daily", clock.GetUtcNow()));
        Assert.Equal(["n-daily"], book.View(ComplianceFilter.All).Nodes.Select(n => n.NodeId)); // before: kept (and not even stale) for another 11 months
        Assert.Equal(["n-daily"], db.LoadCompliance().Select(r => r.NodeId));
    }

    [RootFact] // mounting a tmpfs needs root
    public async Task OnAFullDisk_ForgettingANode_StillAnswersTheViewAndTheCounts()
    {
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "16m", "disk");
        var db = PatchDatabase.Open(Path.Combine(disk.Path, "peerpatch.db"));
        var book = new ComplianceBook(db, new ServingOptions { ComplianceForgetAfter = TimeSpan.FromDays(30) }, _time, NullLogger<ComplianceBook>.Instance);
        book.Record(Row("n-retired", _time.GetUtcNow()));
        book.Record(Row("n-daily", _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromDays(29));
        book.Record(Row("n-daily", _time.GetUtcNow()));
        Assert.Equal(2, book.View(ComplianceFilter.All).Nodes.Count);

        // The server's disk fills up; a day later the retired PC passes ComplianceForgetAfter.
        Tmpfs.Fill(Path.Combine(disk.Path, "filler"));
        _time.Advance(TimeSpan.FromDays(2));

        Assert.Equal(["n-daily"], book.View(ComplianceFilter.All).Nodes.Select(n => n.NodeId)); // before: SQLite Error 13 out of every view
        Assert.Equal(1, book.Counts().Sum(c => c.StaleNodes)); // the counts (/metrics) answer too: n-daily, silent for 2 days; not the forgotten one
        Assert.Equal(["n-daily"], book.Known(_time.GetUtcNow()).Select(k => k.NodeId)); // and the hand-over list
    }

    [Fact]
    public void ANodeHandedOnAfterMoreThanAYearOfSilence_KeepsItsAge_AndIsForgottenOnTimeUnderAForgetAfterAboveAYear()
    {
        // An admin keeps retired PCs for 400 days. A server that saw a PC 390 days ago hands it on at a failover.
        // Before: the hand-over clamped the age to 366 days, so the PC looked 24 days fresher at each new server (and a
        // server change at least every 34 days kept it for good).
        var book = new ComplianceBook(PatchDatabase.Open(_dir.Sub("peerpatch.db")), new ServingOptions { ComplianceForgetAfter = TimeSpan.FromDays(400) }, _time, NullLogger<ComplianceBook>.Instance);
        book.Learn([new ComplianceKnownNode("n-retired", "old-pc", null, "test-1-amd64", (long)TimeSpan.FromDays(390).TotalMilliseconds)], _time.GetUtcNow());
        Assert.Equal(_time.GetUtcNow() - TimeSpan.FromDays(390), Assert.Single(book.Snapshot()).LastSeen);

        _time.Advance(TimeSpan.FromDays(11)); // 401 days of silence
        Assert.Empty(book.Snapshot());
    }

    [Fact]
    public void ForgetAfterZero_KeepsEveryNode()
    {
        var book = new ComplianceBook(PatchDatabase.Open(_dir.Sub("peerpatch.db")), new ServingOptions { ComplianceForgetAfter = TimeSpan.Zero }, _time, NullLogger<ComplianceBook>.Instance);
        book.Record(Row("n-retired", _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromDays(400));
        Assert.Contains(book.View(ComplianceFilter.All).Nodes, n => n.NodeId == "n-retired" && n.Stale);
    }

    [Fact]
    public void AForgetAfterNotLongerThanStaleAfter_IsRejectedAtStart()
    {
        var result = new ServingOptionsValidator().Validate(null, new ServingOptions { ComplianceStaleAfter = TimeSpan.FromHours(1), ComplianceForgetAfter = TimeSpan.FromMinutes(30) });
        Assert.True(result.Failed);
        Assert.Contains("ComplianceForgetAfter", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new ServingOptionsValidator().Validate(null, new ServingOptions()).Succeeded); // the defaults: 30 days, 1 h
    }

    [Fact]
    public void AForgetAfterTheHandOverCannotCarry_IsRejectedAtStart_AndEveryOneBelowItSurvivesAHandOver()
    {
        var refused = new ServingOptionsValidator().Validate(null, new ServingOptions { ComplianceForgetAfter = ComplianceIntake.MaxKnownAge });
        Assert.True(refused.Failed);
        Assert.Contains("ComplianceForgetAfter", refused.FailureMessage, StringComparison.Ordinal);
        Assert.True(new ServingOptionsValidator().Validate(null, new ServingOptions { ComplianceForgetAfter = TimeSpan.Zero }).Succeeded);

        // The longest allowed setting: a node handed on just past it is forgotten (not made younger by the clamp).
        var longest = ComplianceIntake.MaxKnownAge - TimeSpan.FromDays(1);
        Assert.True(new ServingOptionsValidator().Validate(null, new ServingOptions { ComplianceForgetAfter = longest }).Succeeded);
        var book = new ComplianceBook(PatchDatabase.Open(_dir.Sub("peerpatch.db")), new ServingOptions { ComplianceForgetAfter = longest }, _time, NullLogger<ComplianceBook>.Instance);
        book.Learn([new ComplianceKnownNode("n-old", "old-pc", null, "test-1-amd64", long.MaxValue)], _time.GetUtcNow());
        Assert.Empty(book.Snapshot());
        book.Learn([new ComplianceKnownNode("n-recent", "pc", null, "test-1-amd64", (long)(longest - TimeSpan.FromDays(1)).TotalMilliseconds)], _time.GetUtcNow());
        Assert.Equal(["n-recent"], book.Snapshot().Select(n => n.NodeId));
    }

    private static ComplianceNodeRow Row(string node, DateTimeOffset at) =>
        new(node, "pc-" + node, null, "test-1-amd64", "pass-" + at.ToUnixTimeSeconds(), at, at, [new CompliancePatchRow("KB-A", ComplianceStates.Applied, null, at)]);
}
