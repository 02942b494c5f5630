using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// A broken upstream (issue 5, part 4): a file that stalls, resets, comes short, has the wrong length, the wrong bytes,
/// or is missing. Each is a clear per-patch error after retries with back-off (none for a 404), the good patch in
/// the same pass is applied, and no wrong file is ever applied or stored.
/// </summary>
[Trait("Category", "Network")]
public sealed class UpstreamFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task EachUpstreamFault_IsAClearPerPatchError_AfterRetries_AndNothingWrongIsApplied()
    {
        await using var internet = await FakeInternet.StartAsync();
        var faults = new[] { UpstreamFault.None, UpstreamFault.Stall, UpstreamFault.Reset, UpstreamFault.ShortBody, UpstreamFault.WrongLength, UpstreamFault.WrongBytes, UpstreamFault.NotFound };
        var feed = new List<(string Patch, string File)>();
        var good = internet.AddFile("f0.bin", 400_000, seed: 70);
        for (var i = 1; i < faults.Length; i++)
        {
            internet.AddFile($"f{i}.bin", 400_000, seed: 70 + i);
        }

        for (var i = 0; i < faults.Length; i++)
        {
            internet.SetFault($"f{i}.bin", faults[i]);
            feed.Add(($"KB-{faults[i]}", $"f{i}.bin"));
        }

        internet.SetFeed(Lan.Os, feed);
        using var dir = new TempDir();
        var config = JsonSerializer.Serialize(new { InternetStallTimeout = "00:00:02" });
        await using var node = await NodeProcess.StartWithConfigAsync("pc", dir.Sub("pc"), config, "--role", "server", "--source", "manifest:" + internet.FeedUrlTemplate);

        var pass = await node.UpdateAsync();

        Assert.Equal(1, pass.ExitCode); // some patches failed
        var outcomes = pass.Outcomes.ToDictionary(o => o.GetProperty("patch").GetString()!, o => o);
        Assert.True(outcomes["KB-None"].GetProperty("applied").GetBoolean());
        var expected = new Dictionary<UpstreamFault, (string Error, int Requests)>
        {
            [UpstreamFault.Stall] = ("no data", 3),
            [UpstreamFault.Reset] = ("internet download", 3),
            [UpstreamFault.ShortBody] = ("internet download", 3),
            [UpstreamFault.WrongLength] = ("upstream announced 399900 bytes, the list says 400000", 3),
            [UpstreamFault.WrongBytes] = ("hash to", 3),
            [UpstreamFault.NotFound] = ("upstream answered 404", 1),
        };
        var lines = new List<string>();
        foreach (var (fault, (error, requests)) in expected)
        {
            var o = outcomes[$"KB-{fault}"];
            var message = o.GetProperty("error").GetString() ?? "";
            lines.Add($"{fault}: {message} ({internet.Requests(feed[Array.IndexOf(faults, fault)].File)} requests)");
            Assert.False(o.GetProperty("applied").GetBoolean());
            Assert.Contains(error, message, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(requests, internet.Requests(feed[Array.IndexOf(faults, fault)].File));
        }

        // Only the good patch was applied and stored; nothing half-written is left.
        Assert.Equal([$"{good.Sha256} KB-None"], Lan.AppliedLog(node));
        Assert.Single((await node.PatchesAsync()).EnumerateArray());
        Assert.Empty(Directory.GetFiles(Path.Combine(node.DataDir, "tmp")));
        Assert.Contains("retrying in", node.Output, StringComparison.Ordinal);
        Assert.False(node.HasExited);
        output.WriteLine(string.Join('\n', lines));
    }
}
