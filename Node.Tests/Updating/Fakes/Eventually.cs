namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>Waits on a condition in real time (the code under test runs on other threads), failing after a bound.</summary>
internal static class Eventually
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < Bound, $"not reached within {Bound.TotalSeconds} s: {what}");
            await Task.Delay(2);
        }
    }

    /// <summary>The task's result, failing the test when it has not completed within the bound.</summary>
    public static async Task<T> Within<T>(Task<T> task, string what)
    {
        var done = await Task.WhenAny(task, Task.Delay(Bound));
        Assert.True(done == task, $"not done within {Bound.TotalSeconds} s: {what}");
        return await task;
    }
}
