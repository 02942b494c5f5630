using System.Reflection;
using System.Text.RegularExpressions;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Suite;

/// <summary>
/// tools/test.sh's last line ("tests: N passed, N failed") is what CI and the README read: it must say a run failed
/// whenever it did. Simulated: the real script runs in a copy of the repository's layout with a fake `dotnet` (each
/// phase writes the TRX file and exits with the status the test gives) and a fake publish, so no build or test runs.
/// </summary>
public sealed class TestScriptTests
{
    private const string Passing = """<Counters total="10" executed="10" passed="10" failed="0" error="0" timeout="0" aborted="0" inconclusive="0" passedButRunAborted="0" notRunnable="0" notExecuted="0" disconnected="0" warning="0" completed="0" inProgress="0" pending="0" />""";

    // What `dotnet test` writes when the test host crashes (seen with Environment.FailFast in a test: exit status 1,
    // "Test Run Aborted.", and the counters of a run in which nothing was reported).
    private const string Crashed = """<Counters total="0" executed="0" passed="0" failed="0" error="0" timeout="0" aborted="0" inconclusive="0" passedButRunAborted="0" notRunnable="0" notExecuted="0" disconnected="0" warning="0" completed="0" inProgress="0" pending="0" />""";

    // A crash after some results were reported: what had passed is in the file, the rest is not.
    private const string CrashedHalfway = """<Counters total="4" executed="4" passed="4" failed="0" error="0" timeout="0" aborted="0" inconclusive="0" passedButRunAborted="0" notRunnable="0" notExecuted="0" disconnected="0" warning="0" completed="0" inProgress="0" pending="0" />""";

    [Theory]
    [InlineData("unit", Crashed)]
    [InlineData("integration", Crashed)]
    [InlineData("unit", CrashedHalfway)]
    public async Task APhaseWhoseTestHostCrashed_IsCountedAsFailed_InTheLastLine(string crashing, string counters)
    {
        var (lastLine, status) = await RunAsync(
            unit: crashing == "unit" ? (counters, 1) : (Passing, 0),
            integration: crashing == "integration" ? (counters, 1) : (Passing, 0),
            publishStatus: 0);

        Assert.NotEqual(0, status);
        Assert.True(Regex.IsMatch(lastLine, @"^tests: \d+ passed, [1-9]\d* failed"), $"last line: {lastLine}");
    }

    [Fact]
    public async Task AllPhasesPassing_CountsBothResultFiles()
    {
        var (lastLine, status) = await RunAsync(unit: (Passing, 0), integration: (Passing, 0), publishStatus: 0);

        Assert.Equal(0, status);
        Assert.Equal("tests: 20 passed, 0 failed", lastLine);
    }

    [Fact]
    public async Task AFailedPublish_EndsWithAFailedLine()
    {
        var (lastLine, status) = await RunAsync(unit: (Passing, 0), integration: (Passing, 0), publishStatus: 1);

        Assert.NotEqual(0, status);
        Assert.True(Regex.IsMatch(lastLine, @"^tests: \d+ passed, [1-9]\d* failed"), $"last line: {lastLine}");
    }

    [Fact]
    public async Task AMissingResultFile_EndsWithAFailedLine()
    {
        var (lastLine, status) = await RunAsync(unit: (Passing, 0), integration: (null, 1), publishStatus: 0);

        Assert.NotEqual(0, status);
        Assert.True(Regex.IsMatch(lastLine, @"^tests: \d+ passed, [1-9]\d* failed"), $"last line: {lastLine}");
    }

    private static async Task<(string LastLine, int Status)> RunAsync((string? Counters, int Status) unit, (string? Counters, int Status) integration, int publishStatus)
    {
        var root = typeof(TestScriptTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;
        using var dir = new TempDir();
        var repo = dir.Sub("repo");
        var bin = dir.Sub("bin");
        var fixtures = dir.Sub("fixtures");
        Directory.CreateDirectory(Path.Combine(repo, "tools", "package"));
        Directory.CreateDirectory(bin);
        Directory.CreateDirectory(fixtures);
        File.Copy(Path.Combine(root, "tools", "test.sh"), Path.Combine(repo, "tools", "test.sh"));
        Script(Path.Combine(repo, "tools", "package", "publish.sh"), $"echo 'fake publish'\nexit {publishStatus}\n");

        foreach (var (name, (counters, status)) in new[] { ("unit", unit), ("integration", integration) })
        {
            if (counters is not null)
            {
                await File.WriteAllTextAsync(Path.Combine(fixtures, name + ".trx"), $"""
                    <?xml version="1.0" encoding="utf-8"?>
                    <TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
                      <ResultSummary outcome="{(status == 0 ? "Completed" : "Failed")}">
                        {counters}
                      </ResultSummary>
                    </TestRun>
                    """);
            }

            await File.WriteAllTextAsync(Path.Combine(fixtures, name + ".status"), status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // The fake dotnet: build and build-server succeed; test copies the phase's TRX (named by its logger) into the
        // results directory and exits with the phase's status.
        Script(Path.Combine(bin, "dotnet"), $$"""
            case "$1" in
              test)
                name=""; results=""
                while [ $# -gt 0 ]; do
                  case "$1" in
                    "trx;LogFileName="*) name=${1#trx;LogFileName=}; name=${name%.trx} ;;
                    --results-directory) shift; results=$1 ;;
                  esac
                  shift
                done
                [ -f "{{fixtures}}/$name.trx" ] && cp "{{fixtures}}/$name.trx" "$results/$name.trx"
                exit "$(cat "{{fixtures}}/$name.status")" ;;
              *) exit 0 ;;
            esac

            """);

        // Every command the script checks for is present (so it installs nothing).
        foreach (var command in new[] { "sha256sum", "ps", "ip", "avahi-daemon", "chromium", "apt-get", "dpkg-deb", "dpkg-scanpackages", "lintian", "systemd-analyze", "gzip", "gpg", "gpgv", "xz", "objdump", "sudo" })
        {
            Script(Path.Combine(bin, command), command is "apt-get" or "sudo" ? "exit 1\n" : "exit 0\n");
        }

        var result = await ExternalCommand.RunAsync(repo, "/bin/bash", [Path.Combine(repo, "tools", "test.sh")], allowFailure: true,
            new Dictionary<string, string> { ["PATH"] = $"{bin}:/usr/bin:/bin" });
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (lines.Length > 0 ? lines[^1] : "", result.ExitCode);
    }

    private static void Script(string path, string body)
    {
        File.WriteAllText(path, "#!/bin/bash\n" + body);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
