using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// A node SIGKILLed while a patch's apply command runs, then restarted (as systemd's Restart=on-failure or an admin
/// does) and asked for a pass: the apply command it started is not killed with it (PatchApplier: "a started apply
/// command runs to its end"), and nothing recorded that it was running, so the restarted node must not start the same
/// installer a second time while the first one is still at work on the same PC.
/// </summary>
[Trait("Category", "Network")]
public sealed class ApplyKillTests(ITestOutputHelper output)
{
    [Fact]
    public async Task NodeKilledWhileApplying_NeverRunsTheSameApplyTwiceAtOnce()
    {
        using var dir = new TempDir();
        await using var internet = await FakeInternet.StartAsync();
        var file = internet.AddFile("slow.bin", 300_000, seed: 7);
        var feed = internet.SetNamedRawFeed("slow", JsonSerializer.Serialize(new
        {
            os = Lan.Os,
            patches = new[]
            {
                new
                {
                    name = "KB-slow",
                    url = new Uri(internet.BaseUri, "files/slow.bin").ToString(),
                    sha256 = file.Sha256,
                    size = file.Size,
                    apply = new
                    {
                        command = "/bin/sh",
                        // An installer that takes 4 s: it logs its start and its end.
                        args = new[] { "-c", "echo \"start $$ $(date +%s%N)\" >> runs.log; sleep 4; echo \"end $$ $(date +%s%N)\" >> runs.log" },
                    },
                },
            },
        }));
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        await using var node = await NodeProcess.StartAsync("node", dir.Sub("node"), "--server", server.ServerAddress, "--source", "manifest:" + feed);
        var runs = Path.Combine(node.DataDir, "work", "runs.log");

        var first = node.UpdateAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(File.Exists(runs) && File.ReadAllText(runs).Contains("start", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the apply command never started:\n" + node.Output);
            await Task.Delay(20);
        }

        await node.KillAsync();
        await first;
        await node.RestartAsync();
        var second = await node.UpdateAsync();
        for (deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30); File.ReadAllLines(runs) is var all && all.Count(l => l.StartsWith("start", StringComparison.Ordinal)) > all.Count(l => l.StartsWith("end", StringComparison.Ordinal)); await Task.Delay(50))
        {
            Assert.True(DateTime.UtcNow < deadline, "an apply command was still running 30 s after the second pass:\n" + string.Join("\n", all));
        }

        var lines = File.ReadAllLines(runs);
        output.WriteLine(string.Join("\n", lines));
        output.WriteLine($"second pass exit {second.ExitCode}: {second.Stdout}");
        var running = 0;
        var most = 0;
        foreach (var line in lines)
        {
            running += line.StartsWith("start", StringComparison.Ordinal) ? 1 : -1;
            most = Math.Max(most, running);
        }

        Assert.True(most <= 1, $"{most} apply commands of KB-slow ran at once after the restart:\n{string.Join("\n", lines)}");
        Assert.Contains("still runs (it holds", node.Output, StringComparison.Ordinal); // the restarted node said why it waited
        Assert.Equal(0, second.ExitCode);
    }
}
