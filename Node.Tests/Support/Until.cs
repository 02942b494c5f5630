using System.Diagnostics;

namespace PeerPatch.Node.Tests.Support;

/// <summary>Bounded waits for something another process does (a file it creates), failing the test at the bound.</summary>
internal static class Until
{
    /// <summary>Waits until <paramref name="path"/> exists, polling every 20 ms; fails with <paramref name="what"/> after <paramref name="seconds"/>.</summary>
    public static async Task FileExistsAsync(string path, string what, double seconds = 10)
    {
        for (var waited = Stopwatch.StartNew(); !File.Exists(path); await Task.Delay(20))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(seconds), $"{what} within {seconds} s");
        }
    }

    /// <summary>
    /// Waits until <paramref name="path"/> holds the whole line <paramref name="line"/>: a shell's <c>echo x &gt;&gt; f</c>
    /// creates the file before it writes, so a reader that only waited for the file can find it empty.
    /// </summary>
    public static async Task FileHoldsLineAsync(string path, string line, string what, double seconds = 10)
    {
        for (var waited = Stopwatch.StartNew(); !(File.Exists(path) && File.ReadAllLines(path).Contains(line)); await Task.Delay(20))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(seconds), $"{what} within {seconds} s");
        }
    }
}
