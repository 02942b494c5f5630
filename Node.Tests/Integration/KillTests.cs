using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Durability under SIGKILL (issue 5, part 4): 20 times, 50 concurrent pushes to a server that is killed in the
/// middle of them. After each kill the database passes integrity_check; after each restart every acknowledged push
/// is there, whole, and no blob on disk has a wrong hash, a temp file, or no record.
/// </summary>
[Trait("Category", "Network")]
public sealed class KillTests(ITestOutputHelper output)
{
    private const int Rounds = 20;
    private const int Pushes = 50;

    [Fact]
    public async Task ServerKilledDuring50ConcurrentPushes_20Times_LosesNothingAcknowledged_AndKeepsNoBadBlob()
    {
        using var dir = new TempDir();
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
        var random = new Random(5);
        var acknowledged = new Dictionary<string, long>(StringComparer.Ordinal);
        int totalAcked = 0, totalFailed = 0, roundsWithBoth = 0;
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

        for (var round = 0; round < Rounds; round++)
        {
            var bodies = Enumerable.Range(0, Pushes).Select(_ =>
            {
                var b = new byte[random.Next(16_000, 600_000)];
                random.NextBytes(b);
                return b;
            }).ToList();
            var pushes = bodies.Select((b, i) => PushAsync(http, server, b, $"KILL-{round}-{i}")).ToList();
            await Task.Delay(random.Next(30, 250));
            await server.KillAsync();
            var results = await Task.WhenAll(pushes);
            var acked = results.Where(r => r.Acked).ToList();
            totalAcked += acked.Count;
            totalFailed += results.Length - acked.Count;
            roundsWithBoth += acked.Count > 0 && acked.Count < Pushes ? 1 : 0;
            foreach (var r in acked)
            {
                acknowledged[r.Sha256] = r.Size;
            }

            // As the kill left it: the database is consistent.
            Assert.Equal("ok", PatchDatabase.Open(Path.Combine(server.DataDir, "peerpatch.db")).IntegrityCheck());

            await server.RestartAsync();
            Assert.Empty(Directory.GetFiles(Path.Combine(server.DataDir, "tmp")));
            var published = (await server.PatchesAsync()).EnumerateArray().ToDictionary(p => p.GetProperty("sha256").GetString()!, p => p.GetProperty("size").GetInt64());
            foreach (var (sha, size) in acknowledged)
            {
                Assert.True(published.TryGetValue(sha, out var s) && s == size, $"round {round}: acknowledged push {sha} ({size} bytes) is missing after the restart");
            }

            // Every blob file hashes to its name and has its record; no record lacks its file.
            var files = Directory.GetFiles(Path.Combine(server.DataDir, "blobs"), "*", SearchOption.AllDirectories);
            foreach (var file in files)
            {
                await using var f = File.OpenRead(file);
                Assert.Equal(Path.GetFileName(file), Convert.ToHexStringLower(await SHA256.HashDataAsync(f)));
            }

            Assert.Equal(published.Keys.Order(), files.Select(Path.GetFileName).Order()!);
        }

        Assert.True(totalAcked > 0 && totalFailed > 0, $"{totalAcked} acknowledged, {totalFailed} cut: the kills did not land inside the pushes");
        output.WriteLine($"{Rounds} SIGKILLs during {Pushes} concurrent pushes each: {totalAcked} pushes acknowledged (all present after restart, verified), {totalFailed} cut off; {roundsWithBoth} rounds killed with pushes both done and in flight; integrity_check ok every time");
    }

    private static async Task<(bool Acked, string Sha256, long Size)> PushAsync(HttpClient http, NodeProcess server, byte[] body, string name)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(body));
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await http.PutAsync(new Uri(server.Http, $"v1/blobs/{sha}?os=test-1-amd64&name={name}"), content);
            return (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, sha, body.Length);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return (false, sha, body.Length);
        }
    }
}
