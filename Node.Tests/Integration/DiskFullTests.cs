using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// A full disk during a push (issue 5, part 4): the server's data directory is a 100 MB tmpfs. A push that cannot fit
/// is refused up front with a clear 507; when the disk fills up while a push streams in, the write fails with the
/// reason in the log; no partial file is left, and the node keeps serving what it has and accepting what fits.
/// </summary>
[Trait("Category", "Network")]
public sealed class DiskFullTests(ITestOutputHelper output)
{
    [RootFact] // mounting a tmpfs needs root
    public async Task DiskFillingUpDuringAPush_IsAClearError_LeavesNothing_AndTheNodeKeepsServing()
    {
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "100m");
        var data = disk.Path;
        // The cache cap is set above the disk so that the disk, not the cap, is what runs out.
        var config = JsonSerializer.Serialize(new { CacheCapBytes = 1L << 30 });
        await using var server = await NodeProcess.StartWithConfigAsync("server", data, config, "--role", "server");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var kept = RandomBytes(5_000_000, 1);
        Assert.Equal(HttpStatusCode.Created, (await PushAsync(http, server, new ByteArrayContent(kept), Sha(kept), "KB-KEPT")).StatusCode);

        // 1. A push that cannot fit beside the reserve (10 MB on this 100 MB disk: 10 % of it) is refused before a
        //    byte is written.
        var tooBig = RandomBytes(90_000_000, 2);
        // Expect: 100-continue, so the client waits for the refusal instead of racing it with 90 MB that the node
        // never reads (writing those into the closed connection failed with a broken pipe on a loaded machine).
        using var waiting = new HttpClient { Timeout = TimeSpan.FromSeconds(60), DefaultRequestHeaders = { ExpectContinue = true } };
        using (var refused = await PushAsync(waiting, server, new ByteArrayContent(tooBig), Sha(tooBig), "KB-TOOBIG"))
        {
            Assert.Equal(HttpStatusCode.InsufficientStorage, refused.StatusCode);
            Assert.Contains("not enough disk space", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // 2. The disk fills up (another program) while a push streams in: the write fails, nothing is left.
        var body = RandomBytes(20_000_000, 3);
        var filler = Path.Combine(data, "filler");
        var slow = new SlowContent(body, afterBytes: 2_000_000, () => Tmpfs.Fill(filler));
        try
        {
            using var failed = await PushAsync(http, server, slow, Sha(body), "KB-FILLED");
            Assert.True(failed.StatusCode == HttpStatusCode.InsufficientStorage, $"{failed.StatusCode}: {await failed.Content.ReadAsStringAsync()}\n{server.Output}");
        }
        catch (HttpRequestException)
        {
            // the server may close the connection while the body is still being sent; its log says why
        }

        Assert.True(slow.Filled, "the filler never ran");
        // The reason is in the log: the blob's bytes or its database row hit the full disk.
        await WaitForAsync(() => server.Output.Split('\n').Any(l => l.Contains("push of KB-FILLED", StringComparison.Ordinal) && l.Contains("rejected with 507", StringComparison.Ordinal)
            && (l.Contains("No space left on device", StringComparison.Ordinal) || l.Contains("disk is full", StringComparison.Ordinal))));
        File.Delete(filler);
        Assert.Empty(Directory.GetFiles(Path.Combine(data, "tmp")));
        Assert.Single(Directory.GetFiles(Path.Combine(data, "blobs"), "*", SearchOption.AllDirectories)); // no blob without its record

        // Still serving what it has, still answering, and accepting what fits.
        Assert.Equal(Sha(kept), Sha(await http.GetByteArrayAsync(new Uri(server.Http, $"v1/blobs/{Sha(kept)}"))));
        Assert.Equal(1, (await server.StatusAsync()).GetProperty("blobs").GetProperty("count").GetInt32());
        var fits = RandomBytes(500_000, 4);
        Assert.Equal(HttpStatusCode.Created, (await PushAsync(http, server, new ByteArrayContent(fits), Sha(fits), "KB-FITS")).StatusCode);
        Assert.False(server.HasExited);
        output.WriteLine("100 MB tmpfs: 5 MB push stored; 90 MB push refused up front (507, 10 MB reserve); disk filled during a 20 MB push: refused with 507, no temp or orphan file left; the 5 MB blob still served, a 0.5 MB push stored after");
        output.WriteLine(server.Output.Split('\n').First(l => l.Contains("push of KB-FILLED", StringComparison.Ordinal)));
    }

    /// <summary>
    /// Issue 19: on a 64 MB data disk the reserve was the whole disk (64 MB), so even a 1 MB push got 507. The reserve
    /// is now min(64 MB, 10 % of the disk): 6.4 MB here. A 1 MB push is stored; one that would eat into the 6.4 MB is
    /// still refused up front.
    /// </summary>
    [RootFact] // mounting a tmpfs needs root
    public async Task OnA64MBDisk_A1MBPushIsStored_AndOnlyWhatWouldEatIntoA10PercentReserveIsRefused()
    {
        using var dir = new TempDir();
        await using var disk = await Tmpfs.MountAsync(dir, "64m");
        var data = disk.Path;
        await using var server = await NodeProcess.StartWithConfigAsync("server", data, JsonSerializer.Serialize(new { CacheCapBytes = 1L << 30 }), "--role", "server");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var small = RandomBytes(1_000_000, 5);
        using (var stored = await PushAsync(http, server, new ByteArrayContent(small), Sha(small), "KB-1MB"))
        {
            Assert.True(stored.StatusCode == HttpStatusCode.Created, $"{stored.StatusCode}: {await stored.Content.ReadAsStringAsync()}");
        }

        var free = new DriveInfo(data).AvailableFreeSpace;
        var tooBig = RandomBytes((int)(free - (5L << 20)), 6); // leaves 5 MB free: inside the 6.4 MB reserve
        using var refused = await PushAsync(http, server, new ByteArrayContent(tooBig), Sha(tooBig), "KB-TOOBIG");
        var body = await refused.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InsufficientStorage, refused.StatusCode);
        Assert.Contains("6710886 kept in reserve", body, StringComparison.Ordinal);
        Assert.Equal(Sha(small), Sha(await http.GetByteArrayAsync(new Uri(server.Http, $"v1/blobs/{Sha(small)}"))));
        output.WriteLine($"64 MB tmpfs: 1 MB push stored (before: 507, reserve = 64 MB = the disk); a {tooBig.Length} B push refused: {body}");
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "condition not reached in 10 s");
    }

    /// <summary>A request body sent in 256 KB pieces that runs <c>onceAfter</c> once the first <c>afterBytes</c> are out.</summary>
    private sealed class SlowContent(byte[] body, int afterBytes, Action onceAfter) : HttpContent
    {
        public bool Filled { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < body.Length; offset += 256 * 1024)
            {
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(256 * 1024, body.Length - offset)));
                await stream.FlushAsync();
                if (!Filled && offset >= afterBytes)
                {
                    onceAfter();
                    Filled = true;
                }

                await Task.Delay(20);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }

    private static byte[] RandomBytes(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static async Task<HttpResponseMessage> PushAsync(HttpClient http, NodeProcess server, HttpContent content, string sha, string name)
    {
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await http.PutAsync(new Uri(server.Http, $"v1/blobs/{sha}?os=test-1-amd64&name={name}"), content);
    }
}
