using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// A node receiving a patch in pieces whose data disk (a tmpfs) fills up while the pieces arrive (seeded instants):
/// the pass fails or completes, never with a half-written blob, a temp file left, or an inconsistent database; it
/// serves only verified pieces meanwhile; half the time it is then SIGKILLed and restarted on the still-full disk; once
/// the disk has room again, its next pass applies the right bytes.
/// </summary>
[Trait("Category", "Network")]
public sealed class PartialBlobDiskFullTests(ITestOutputHelper output)
{
    private const long SourceRate = 24L << 20;

    [RootFact] // mounting a tmpfs needs root
    public async Task DiskFillingUpWhilePiecesArrive_LeavesNoHalfBlob_AndTheNextPassCompletes()
    {
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("PK_DISK_ROUNDS"), out var r) ? r : 4; // about 4 s each; 2 x 8 passed when written
        var seed = int.TryParse(Environment.GetEnvironmentVariable("PK_SEED"), out var s) ? s : Environment.TickCount & 0x7fffffff;
        Log($"seed {seed}, {rounds} rounds");
        var random = new Random(seed);
        using var dir = new TempDir();
        var mount = dir.Sub("victim-disk");
        Directory.CreateDirectory(mount);
        await ExternalCommand.RunAsync(dir.Path, "mount", "-t", "tmpfs", "-o", "size=240m", "tmpfs", mount);
        try
        {
            await using var internet = await FakeInternet.StartAsync();
            var feed = "manifest:" + internet.FeedUrlTemplate;
            var limited = $$"""{"UploadRateLimit":{{SourceRate}}}""";
            await using var server = await NodeProcess.StartWithConfigAsync("server", dir.Sub("server"), limited, "--role", "server", "--source", feed);
            await using var peer = await NodeProcess.StartWithConfigAsync("peer", dir.Sub("peer"), limited, "--server", server.ServerAddress, "--source", feed);
            await using var victim = await NodeProcess.StartWithConfigAsync("victim", Path.Combine(mount, "data"), """{"CacheCapBytes":50000000}""", "--server", server.ServerAddress, "--source", feed);
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(20) };
            var filler = Path.Combine(mount, "filler");
            var failures = new List<string>();
            for (var round = 0; round < rounds; round++)
            {
                var size = random.NextInt64(24L << 20, 48L << 20);
                var patch = $"KB-{round}";
                var content = internet.AddFile($"f{round}.bin", size, seed: seed + round);
                internet.SetFeed(Lan.Os, [(patch, $"f{round}.bin")]);
                Assert.Equal(0, (await server.UpdateAsync()).ExitCode);
                Assert.Equal(0, (await peer.UpdateAsync()).ExitCode);

                var fillAfter = random.Next(100, (int)(size * 1000 / (2 * SourceRate)) + 200);
                var kill = random.Next(2) == 0;
                var watch = Stopwatch.StartNew();
                var pass = victim.UpdateAsync();
                await Task.Delay(fillAfter);
                var temps = Directory.GetFiles(Path.Combine(victim.DataDir, "tmp")).Length;
                Tmpfs.Fill(filler);
                var bad = await BadServedAsync(http, victim, content, TimeSpan.FromMilliseconds(800));
                string restartNote = "not killed";
                if (kill)
                {
                    await victim.KillAsync();
                    await pass;
                    Check(failures, round, "after the kill on a full disk", victim);
                    try
                    {
                        await victim.RestartAsync();
                        restartNote = "restarted on the full disk";
                    }
                    catch (Exception e) when (e is InvalidOperationException or TimeoutException)
                    {
                        restartNote = "could NOT restart on the full disk: " + FirstLines(e.Message, 12);
                        failures.Add($"round {round}: {restartNote}");
                        File.Delete(filler);
                        await victim.RestartAsync();
                    }
                }

                var cut = kill ? null : await pass;
                Check(failures, round, "after the pass on a full disk", victim);
                File.Delete(filler);
                failures.AddRange((await StoreProblemsAsync(victim)).Select(p => $"round {round}: {p}"));
                var again = await victim.UpdateAsync();
                var applied = Lan.AppliedLog(victim).Count(l => l == $"{content.Sha256} {patch}");
                if (again.ExitCode != 0 || applied < 1)
                {
                    failures.Add($"round {round}: the pass once the disk had room again exited {again.ExitCode}, applied {applied}x: {again.Stdout} {again.Stderr}");
                }

                var cutNote = cut is null ? "killed" : $"exit {cut.ExitCode}: {string.Join(" ", cut.Outcomes.Select(o => o.ToString()))}";
                var used = Directory.GetFiles(Path.Combine(victim.DataDir, "blobs"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
                Log($"round {round}: store {used >> 20} MiB; {size >> 20} MiB, disk filled at {fillAfter} ms (temps then {temps}), {bad} bad pieces served, pass on the full disk {cutNote}; {restartNote}; next pass exit {again.ExitCode}, applied {applied}x");
                failures.AddRange(bad > 0 ? [$"round {round}: {bad} bad pieces served"] : []);
            }

            Assert.True(failures.Count == 0, string.Join("\n", failures) + "\n" + victim.Output[^Math.Min(victim.Output.Length, 15000)..]);
        }
        finally
        {
            await ExternalCommand.RunAsync(dir.Path, "umount", ["-l", mount], allowFailure: true);
        }
    }

    private void Check(List<string> failures, int round, string when, NodeProcess victim)
    {
        var tmp = Path.Combine(victim.DataDir, "tmp");
        if (!victim.HasExited && Directory.Exists(tmp) && Directory.GetFiles(tmp).Length is var n and > 0)
        {
            failures.Add($"round {round}: {n} temp files {when} (node running)");
        }

        try
        {
            var integrity = PatchDatabase.Open(Path.Combine(victim.DataDir, "peerpatch.db")).IntegrityCheck();
            if (integrity != "ok")
            {
                failures.Add($"round {round}: integrity_check {when}: {integrity}");
            }
        }
        catch (Exception e)
        {
            Log($"round {round}: could not open the database {when}: {e.Message}");
        }
    }

    private static async Task<int> BadServedAsync(HttpClient http, NodeProcess node, GeneratedContent content, TimeSpan during)
    {
        var bad = 0;
        var until = DateTime.UtcNow + during;
        var buffer = new byte[GeneratedContent.BlockBytes];
        var random = new Random(1);
        while (DateTime.UtcNow < until)
        {
            var block = random.NextInt64(content.Size / GeneratedContent.BlockBytes);
            var from = block * GeneratedContent.BlockBytes;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node.Http, $"v1/blobs/{content.Sha256}"));
                request.Headers.Range = new RangeHeaderValue(from, from + GeneratedContent.BlockBytes - 1);
                using var response = await http.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.PartialContent)
                {
                    var n = content.Fill(buffer, from);
                    bad += (await response.Content.ReadAsByteArrayAsync()).AsSpan().SequenceEqual(buffer.AsSpan(0, n)) ? 0 : 1;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
            }

            await Task.Delay(10);
        }

        return bad;
    }

    private static async Task<List<string>> StoreProblemsAsync(NodeProcess node)
    {
        var problems = new List<string>();
        var files = Directory.GetFiles(Path.Combine(node.DataDir, "blobs"), "*", SearchOption.AllDirectories);
        foreach (var file in files)
        {
            await using var stream = File.OpenRead(file);
            var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
            if (actual != Path.GetFileName(file))
            {
                problems.Add($"blob {Path.GetFileName(file)} hashes to {actual}");
            }
        }

        return problems;
    }

    private static string FirstLines(string text, int n) => string.Join(" | ", text.Split('\n').Take(n));

    private void Log(string line)
    {
        output.WriteLine(line);
        Console.WriteLine("[pk] " + line);
    }
}
