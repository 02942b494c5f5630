using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// The HTTP data plane of a server node: pushes are verified, blobs are served only when right. The node is hosted in
/// this process (the same host and endpoints as `peerpatch run`): nothing here needs a process of its own.
/// </summary>
[Trait("Category", "Network")]
public sealed class DataPlaneTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private InProcessNode _server = null!;

    public async Task InitializeAsync() =>
        _server = await InProcessNode.StartAsync(_dir.Sub("server"), TimeProvider.System, new Dictionary<string, string?> { ["Role"] = "server" });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _http.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task PushWhoseBytesDoNotMatchTheUrlHash_IsRejected_AndLeavesNothingBehind()
    {
        var claimed = RandomBytes(300_000, 1);
        var sent = RandomBytes(300_000, 2);

        using var response = await PutAsync(Sha(claimed), "KB1", sent);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        await AssertStoreEmptyAsync();
        var stats = (await _server.StatusAsync()).GetProperty("stats");
        Assert.Equal(1, stats.GetProperty("pushesRejected").GetInt64());
        Assert.Equal(0, stats.GetProperty("pushesAccepted").GetInt64());
    }

    [Fact]
    public async Task PushWithoutContentLength_IsRefused_AndPushCutShortLeavesNothing()
    {
        var bytes = RandomBytes(200_000, 3);
        using var chunked = new StreamContent(new MemoryStream(bytes));
        using var request = new HttpRequestMessage(HttpMethod.Put, BlobUri(Sha(bytes), "KB2")) { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.LengthRequired, response.StatusCode);

        // Declare 1 MB, send 100 KB, hang up.
        var big = RandomBytes(1_000_000, 4);
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, _server.Http.Port);
            var stream = client.GetStream();
            var head = $"PUT /v1/blobs/{Sha(big)}?os=test-1-amd64&name=KB3 HTTP/1.1\r\nHost: x\r\nContent-Length: {big.Length}\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(big.AsMemory(0, 100_000));
            await stream.FlushAsync();
        }

        await WaitUntilAsync(async () => (await _server.StatusAsync()).GetProperty("stats").GetProperty("pushesRejected").GetInt64() >= 2);
        await AssertStoreEmptyAsync();
    }

    [Fact]
    public async Task GoodPush_IsStoredAndServed_WithETagAndRanges()
    {
        var bytes = RandomBytes(1_500_000, 5);
        var sha = Sha(bytes);

        using (var push = await PutAsync(sha, "KB5031356", bytes))
        {
            Assert.Equal(HttpStatusCode.Created, push.StatusCode);
        }

        using (var again = await PutAsync(sha, "KB5031356", bytes))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        // A plain PUT of a held blob far larger than the socket buffers still gets its 200, not a reset.
        var large = RandomBytes(24_000_000, 6);
        var largeSha = Sha(large);
        using (var first = await PutAsync(largeSha, "KB-large", large))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        for (var i = 0; i < 3; i++)
        {
            using var repeat = await PutAsync(largeSha, "KB-large", large);
            Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
        }

        using var full = await _http.GetAsync(BlobGet(sha));
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        Assert.Equal(bytes, await full.Content.ReadAsByteArrayAsync());
        Assert.Equal($"\"{sha}\"", full.Headers.ETag!.Tag);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, BlobGet(sha));
        conditional.Headers.IfNoneMatch.Add(new EntityTagHeaderValue($"\"{sha}\""));
        using (var notModified = await _http.SendAsync(conditional))
        {
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }

        Assert.Equal(bytes[1000..2000], await RangeAsync(sha, 1000, 1999, HttpStatusCode.PartialContent));
        using (var suffix = new HttpRequestMessage(HttpMethod.Get, BlobGet(sha)))
        {
            suffix.Headers.Range = new RangeHeaderValue(null, 500);
            using var response = await _http.SendAsync(suffix);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(bytes[^500..], await response.Content.ReadAsByteArrayAsync());
        }

        await RangeAsync(sha, bytes.Length + 10, bytes.Length + 20, HttpStatusCode.RequestedRangeNotSatisfiable);

        var patches = await _server.PatchesAsync();
        Assert.Equal(["KB-large", "KB5031356"], patches.EnumerateArray().Select(p => p.GetProperty("name").GetString()).Order());
    }

    [Fact]
    public async Task BlobCorruptedOnDisk_IsNeverServedAsValid_AndIsRemoved()
    {
        var first = RandomBytes(2_000_000, 6);
        var second = RandomBytes(700_000, 7);
        foreach (var (bytes, name) in new[] { (first, "KB-A"), (second, "KB-B") })
        {
            using var push = await PutAsync(Sha(bytes), name, bytes);
            Assert.Equal(HttpStatusCode.Created, push.StatusCode);
        }

        Corrupt(Sha(first), offset: 1_999_000);
        Corrupt(Sha(second), offset: 10);

        // A full GET must not complete: the connection is aborted before the last bytes.
        var completed = false;
        try
        {
            using var response = await _http.GetAsync(BlobGet(Sha(first)));
            var body = await response.Content.ReadAsByteArrayAsync();
            completed = response.StatusCode == HttpStatusCode.OK && body.Length == first.Length;
        }
        catch (HttpRequestException)
        {
        }
        catch (IOException)
        {
        }

        Assert.False(completed, "a corrupt blob was delivered as a complete 200 response");

        // A Range request is refused for a blob that no longer verifies.
        await RangeAsync(Sha(second), 0, 99, HttpStatusCode.NotFound);

        using (var gone = await _http.GetAsync(BlobGet(Sha(first))))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }

        Assert.Equal(0, (await _server.PatchesAsync()).GetArrayLength());
        Assert.Equal(2, (await _server.StatusAsync()).GetProperty("stats").GetProperty("corruptBlobsDetected").GetInt64());
    }

    [Fact]
    public async Task PatchNamesThatLookLikePaths_AreStoredAsData()
    {
        var bytes = RandomBytes(10_000, 8);
        const string name = "../../../../tmp/peerpatch-escape";

        using var push = await PutAsync(Sha(bytes), name, bytes);

        Assert.Equal(HttpStatusCode.Created, push.StatusCode);
        Assert.False(File.Exists("/tmp/peerpatch-escape"));
        Assert.Equal(name, Assert.Single((await _server.PatchesAsync()).EnumerateArray()).GetProperty("name").GetString());
        var files = Directory.GetFiles(Path.Combine(_server.DataDir, "blobs"), "*", SearchOption.AllDirectories);
        Assert.Equal(Path.Combine(_server.DataDir, "blobs", Sha(bytes)[..2], Sha(bytes)), Assert.Single(files));
    }

    [Fact]
    public async Task APushOfABlobTheServerHolds_IsAnswered412BeforeItsBody_SoNoByteOfItCrossesTheLanAgain()
    {
        var content = new GeneratedContent(64L << 20, 11);
        var lanHttp = _server.Services.GetRequiredKeyedService<HttpClient>(HttpClients.Lan);
        var first = new GeneratedStream(content);
        using (var request = RemoteServerChannel.PushRequest(_server.Http, Patch("KB-FIRST", content), first, "n-first"))
        using (var stored = await lanHttp.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
            Assert.Equal(content.Size, first.BytesRead);
        }

        // Another node downloaded the same blob under another name (its claim had lapsed, say) and pushes it.
        var second = new GeneratedStream(content);
        using (var request = RemoteServerChannel.PushRequest(_server.Http, Patch("KB-ALIAS", content), second, "n-second"))
        using (var held = await lanHttp.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.PreconditionFailed, held.StatusCode);
            var reply = await held.Content.ReadAsStringAsync();
            Assert.Contains("already present", reply, StringComparison.Ordinal);
            Assert.Contains("\"recorded\":false", reply, StringComparison.Ordinal); // unkeyed: a push that sent no bytes proves nothing, so names nothing
        }

        Assert.Equal(0, second.BytesRead); // before: the whole 64 MiB was sent, after a 200, and thrown away
        var names = (await _server.PatchesAsync()).EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Equal(["KB-FIRST"], names);
        // (A pusher that does not ask for create-only, an older node or curl, still gets 200: GoodPush_IsStoredAndServed.)
    }

    private static PatchSpec Patch(string name, GeneratedContent content) =>
        new("test-1-amd64", name, new Uri("http://upstream.invalid/" + name), content.Sha256, content.Size, new ApplySpec("true", [], null));

    private static byte[] RandomBytes(int n, int seed)
    {
        var bytes = new byte[n];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private Uri BlobUri(string sha, string name) =>
        new(_server.Http, $"v1/blobs/{sha}?os=test-1-amd64&name={Uri.EscapeDataString(name)}");

    private Uri BlobGet(string sha) => new(_server.Http, $"v1/blobs/{sha}");

    private async Task<HttpResponseMessage> PutAsync(string sha, string name, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        return await _http.PutAsync(BlobUri(sha, name), content);
    }

    /// <summary>
    /// RFC 9110: a Range under an If-Range that is not the blob's strong ETag (a weak or other tag, a date, an unparsable
    /// value) is answered with the whole body (13.1.5); the range unit is case-insensitive (14.1). Found by an outside
    /// probe: an unparsable If-Range counted as absent, and "BYTES=" was served whole.
    /// </summary>
    [Theory]
    [InlineData("bytes=10-19", null, HttpStatusCode.PartialContent)]
    [InlineData("BYTES=10-19", null, HttpStatusCode.PartialContent)]
    [InlineData("Bytes=10-19", null, HttpStatusCode.PartialContent)]
    [InlineData("bytes=10-19", "STRONG", HttpStatusCode.PartialContent)]
    [InlineData("bytes=10-19", "WEAK", HttpStatusCode.OK)]
    [InlineData("bytes=10-19", "\"another\"", HttpStatusCode.OK)]
    [InlineData("bytes=10-19", "garbage", HttpStatusCode.OK)]
    [InlineData("bytes=10-19", "STRONG, \"x\"", HttpStatusCode.OK)]
    [InlineData("bytes=10-19", "Tue, 01 Dec 2026 00:00:00 GMT", HttpStatusCode.OK)]
    public async Task ARange_IsServedOnlyUnderAMatchingStrongIfRange_AndItsUnitIsCaseInsensitive(string range, string? ifRange, HttpStatusCode expected)
    {
        var bytes = RandomBytes(4_000, 6);
        var sha = Sha(bytes);
        using (var push = await PutAsync(sha, "KB-RANGE", bytes))
        {
            Assert.Equal(HttpStatusCode.Created, push.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, BlobGet(sha));
        Assert.True(request.Headers.TryAddWithoutValidation("Range", range));
        if (ifRange is not null)
        {
            Assert.True(request.Headers.TryAddWithoutValidation("If-Range", ifRange.Replace("STRONG", $"\"{sha}\"", StringComparison.Ordinal).Replace("WEAK", $"W/\"{sha}\"", StringComparison.Ordinal)));
        }

        using var response = await _http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(expected == HttpStatusCode.OK ? bytes : bytes[10..20], await response.Content.ReadAsByteArrayAsync());
    }

    private async Task<byte[]> RangeAsync(string sha, long from, long to, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, BlobGet(sha));
        request.Headers.Range = new RangeHeaderValue(from, to);
        using var response = await _http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private void Corrupt(string sha, long offset)
    {
        using var file = new FileStream(Path.Combine(_server.DataDir, "blobs", sha[..2], sha), FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        var b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 0xFF));
    }

    private async Task AssertStoreEmptyAsync()
    {
        Assert.Equal(0, (await _server.PatchesAsync()).GetArrayLength());
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataDir, "tmp")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataDir, "blobs"), "*", SearchOption.AllDirectories));
    }

    private async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not reached in time; server log:\n{_server.Log}");
            await Task.Delay(50);
        }
    }
}
