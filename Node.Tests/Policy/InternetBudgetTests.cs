using PeerPatch.Node.Policy;

namespace PeerPatch.Node.Tests.Policy;

public sealed class InternetBudgetTests
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly InternetPolicy Quota = InternetPolicy.Unlimited with { DailyQuotaBytes = 1_000 };

    [Fact]
    public void TodaysCharges_AreStillCountedWhenTheClockComesBackFromAJumpToAnotherDay()
    {
        var budget = new InternetBudget();
        Assert.Null(budget.TryStart(Quota, "KB1", 800, Noon));
        Assert.NotNull(budget.TryStart(Quota, "KB2", 800, Noon)); // 1,600 > 1,000

        // The clock is set to another day (a wrong NTP answer, an admin's typo, a dead RTC battery at boot), then put right.
        budget.UsedToday(Noon.AddDays(-1));
        budget.UsedToday(Noon.AddYears(1));

        Assert.Equal(800, budget.UsedToday(Noon));
        Assert.NotNull(budget.TryStart(Quota, "KB2", 800, Noon)); // before: today's 800 bytes forgotten, 800 more admitted
    }

    [Fact]
    public void TodaysCharges_StillCount_AfterAClockThatRanAYearAheadForMoreThanAWeekOfDownloads()
    {
        var budget = new InternetBudget();

        // A dead RTC battery set the clock a year ahead, and it stayed so for nine days, each with a download.
        for (var day = 0; day < InternetBudget.DaysKept + 1; day++)
        {
            Assert.Null(budget.TryStart(Quota, "KB" + day, 100, Noon.AddYears(1).AddDays(day)));
        }

        // The clock is put right: today's quota holds.
        Assert.Null(budget.TryStart(Quota, "KB-A", 800, Noon));
        Assert.Equal(800, budget.UsedToday(Noon)); // before: 0, today's charge dropped at once as the oldest of the kept days
        Assert.NotNull(budget.TryStart(Quota, "KB-B", 800, Noon)); // before: admitted, and every download after it
    }
}
