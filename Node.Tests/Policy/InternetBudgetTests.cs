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
}
