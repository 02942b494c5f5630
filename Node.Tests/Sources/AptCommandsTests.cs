using System.Diagnostics;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Sources;

/// <summary>Every apt child process is bounded: in time, in output, in the errors kept.</summary>
public sealed class AptCommandsTests
{
    private static AptCommands Commands(TimeSpan timeout) => new(new SourcesOptions { AptCommandTimeout = timeout }, TimeProvider.System);

    [Fact]
    public async Task AChildThatOutlivesTheTimeout_IsKilled_AndReportedByTheOptionsName()
    {
        using var dir = new TempDir();
        var pidFile = dir.Sub("pid");
        var watch = Stopwatch.StartNew();
        var result = await Commands(TimeSpan.FromMilliseconds(500)).RunAsync("/bin/sh", ["-c", $"echo $$ > {pidFile}; exec sleep 60"], CancellationToken.None);
        Assert.False(result.Ok);
        Assert.Contains("did not finish in", result.Failure, StringComparison.Ordinal);
        Assert.Contains("AptCommandTimeout", result.Failure, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        var pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        for (var wait = Stopwatch.StartNew(); Runs(pid) && wait.Elapsed < TimeSpan.FromSeconds(5);)
        {
            await Task.Delay(50);
        }

        Assert.False(Runs(pid), "the child still runs");
    }

    private static bool Runs(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false; // gone
        }
    }

    [Fact]
    public async Task OutputPastTheBound_StopsTheChild_AndIsAFailure()
    {
        long seen = 0;
        var watch = Stopwatch.StartNew();
        var result = await Commands(TimeSpan.FromMinutes(1)).StreamAsync(
            "/usr/bin/yes", ["a line of output that never ends"], TimeSpan.FromMinutes(1), 1 << 20,
            async (stdout, ct) => seen = await CountAsync(stdout, ct),
            CancellationToken.None);
        Assert.False(result.Ok);
        Assert.Contains("printed more than 1048576 bytes", result.Failure, StringComparison.Ordinal);
        Assert.Equal(1 << 20, seen);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task TextOutputPastItsBound_IsAFailure_NotAHugeString()
    {
        var result = await Commands(TimeSpan.FromMinutes(1)).RunAsync("/bin/sh", ["-c", $"head -c {AptCommands.MaxTextOutput + 10} /dev/zero"], CancellationToken.None);
        Assert.False(result.Ok);
        Assert.Contains("printed more than", result.Failure, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Output);
    }

    [Fact]
    public async Task AReaderThatStopsEarly_DoesNotLeaveTheChildBlocked()
    {
        string? first = null;
        var result = await Commands(TimeSpan.FromMinutes(1)).StreamAsync(
            "/usr/bin/seq", ["1", "2000000"], TimeSpan.FromMinutes(1), 64 << 20,
            async (stdout, ct) => first = await new StreamReader(stdout).ReadLineAsync(ct),
            CancellationToken.None);
        Assert.Equal("1", first);
        Assert.True(result.Ok, result.Describe());
    }

    [Fact]
    public async Task OnlyTheTailOfTheErrors_IsKept_WithTheExitCode()
    {
        var result = await Commands(TimeSpan.FromMinutes(1)).RunAsync("/bin/sh", ["-c", "head -c 300000 /dev/zero | tr '\\0' x >&2; echo THE-END >&2; exit 3"], CancellationToken.None);
        Assert.Equal(3, result.ExitCode);
        Assert.Null(result.Failure);
        Assert.True(result.Error.Length <= AptCommands.MaxErrorTail, $"{result.Error.Length} characters kept");
        Assert.EndsWith("THE-END", result.Error, StringComparison.Ordinal);
        Assert.StartsWith("exit code 3: ", result.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingProgram_IsAResult_NotAnException()
    {
        var result = await Commands(TimeSpan.FromMinutes(1)).RunAsync("/nonexistent/apt-get", ["update"], CancellationToken.None);
        Assert.False(result.Ok);
        Assert.Contains("cannot be run here", result.Failure, StringComparison.Ordinal);
    }

    private static async Task<long> CountAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new byte[65536];
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer, ct)) > 0)
        {
            total += n;
        }

        return total;
    }
}
