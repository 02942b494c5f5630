using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>Streaming: a node's memory stays flat while it moves a 1 GiB patch.</summary>
[Collection(CpuHeavy.Name)]
[Trait("Category", "Network")]
public sealed class MemoryTests(ITestOutputHelper output)
{
    private const long OneGiB = 1L << 30;
    private const long Budget = 30L << 20;

    [Fact]
    public async Task MovingAOneGigabytePatch_KeepsEachNodeWithin30MbOfItsIdleRss()
    {
        // Warm-up pass with a small patch, so "idle" is a node that has run a pass before (code paths JIT-compiled).
        await using var lan = await Lan.StartAsync([64 * 1024], clients: 1);
        var client = lan.Clients[0];
        Assert.Equal(0, (await client.UpdateAsync()).ExitCode);
        var coldClient = client.Memory();
        var big = lan.Internet.AddFile("big.bin", OneGiB, seed: 77);
        lan.Internet.SetFeed(Lan.Os, [(lan.Patches[0].Patch, "f0.bin"), ("KB-1GiB", "big.bin")]);
        await Task.Delay(2000);
        var idleClient = client.Memory().Rss;
        var idleServer = lan.Server.Memory().Rss;

        long peakClient = 0, peakServer = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakClient = Math.Max(peakClient, client.Memory().Rss);
                peakServer = Math.Max(peakServer, lan.Server.Memory().Rss);
                await Task.Delay(20);
            }
        });
        var result = await client.UpdateAsync();
        await sampling.CancelAsync();
        await sampler;

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr + client.Output);
        var outcome = Assert.Single(result.Outcomes);
        Assert.Equal(big.Sha256, outcome.GetProperty("sha256").GetString());
        Assert.Equal(OneGiB, outcome.GetProperty("bytes").GetInt64());

        // While it moved, the node streamed progress lines (about 4 a second): the byte count grows to the size.
        var progress = result.ProgressLines.Where(p => p.GetProperty("patch").GetString() == "KB-1GiB" && p.GetProperty("stage").GetString() == "internet").ToList();
        Assert.True(progress.Count >= 2, $"{progress.Count} progress lines: {result.Stdout}");
        var counts = progress.Select(p => p.GetProperty("bytes").GetInt64()).ToList();
        Assert.Equal(counts.Order().ToList(), counts);
        Assert.All(progress, p => Assert.Equal(OneGiB, p.GetProperty("total").GetInt64()));
        Assert.True(counts[^1] <= OneGiB && counts[^1] > counts[0], string.Join(",", counts));
        Assert.True(File.Exists(Path.Combine(lan.Server.DataDir, "blobs", big.Sha256[..2], big.Sha256)), "the server did not receive the push");
        var (_, hwmClient) = client.Memory();
        var (_, hwmServer) = lan.Server.Memory();

        output.WriteLine($"client: idle RSS {Mb(idleClient)} MB (cold {Mb(coldClient.Rss)} MB), peak while moving 1 GiB {Mb(peakClient)} MB (+{Mb(peakClient - idleClient)} MB), VmHWM {Mb(hwmClient)} MB");
        output.WriteLine($"server: idle RSS {Mb(idleServer)} MB, peak while receiving 1 GiB {Mb(peakServer)} MB (+{Mb(peakServer - idleServer)} MB), VmHWM {Mb(hwmServer)} MB");
        Assert.True(peakClient - idleClient <= Budget, $"client grew {Mb(peakClient - idleClient)} MB");
        Assert.True(peakServer - idleServer <= Budget, $"server grew {Mb(peakServer - idleServer)} MB");
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
}
