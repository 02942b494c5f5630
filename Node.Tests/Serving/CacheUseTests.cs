using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>
/// The cache evicts the least recently used blobs (at the cap when a blob is stored, and the minute's trim, which
/// spares those used in the last 10 minutes). Serving a blob to the LAN is using it: a blob the PCs are fetching right
/// now is the last one to go, not the first.
/// </summary>
public sealed class CacheUseTests
{
    [Theory]
    [InlineData("whole")] // a PC fetching the blob from its holder
    [InlineData("range")] // a peer fetching one piece of it
    [InlineData("pieces")] // a peer asking for its piece list before it fetches pieces
    public async Task ABlobServedAMinuteAgo_IsNotEvictedBeforeOneNobodyAskedForInHalfAnHour(string how)
    {
        using var dir = new TempDir();
        var clock = new JumpyTimeProvider();
        await using var node = await InProcessNode.StartAsync(dir.Sub("node"), clock, new Dictionary<string, string?>
        {
            [nameof(CoreOptions.CacheCapBytes)] = "5000000", // two of the 2 MB blobs
        });
        var store = node.Services.GetRequiredService<BlobStore>();
        var (served, idle, newcomer) = (Bytes(1), Bytes(2), Bytes(3));
        await StoreAsync(store, served);
        clock.Jump(TimeSpan.FromMinutes(1));
        await StoreAsync(store, idle); // stored a minute later: the more recently used of the two, until someone asks

        clock.Jump(TimeSpan.FromMinutes(30));
        using (var http = new HttpClient { BaseAddress = node.Http, Timeout = TimeSpan.FromSeconds(10) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, how == "pieces" ? $"v1/blobs/{Sha(served)}/pieces" : $"v1/blobs/{Sha(served)}");
            if (how == "range")
            {
                request.Headers.Range = new RangeHeaderValue(0, 1_048_575);
            }

            using var response = await http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{how}: {response.StatusCode}");
            await response.Content.ReadAsByteArrayAsync();
        }

        clock.Jump(TimeSpan.FromMinutes(1));
        await StoreAsync(store, newcomer); // over the cap: one of the other two goes

        Assert.True(store.Contains(Sha(served)), $"the blob served a minute ago ({how}) was evicted; the one nobody asked for in 30 minutes stayed");
        Assert.False(store.Contains(Sha(idle)));
        Assert.True(store.Contains(Sha(newcomer)));
    }

    private static async Task StoreAsync(BlobStore store, byte[] bytes) =>
        Assert.Equal(BlobWriteStatus.Stored, (await store.WriteAsync(new MemoryStream(bytes), Sha(bytes), bytes.Length, long.MaxValue, default)).Status);

    private static byte[] Bytes(int seed)
    {
        var bytes = new byte[2_000_000];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
