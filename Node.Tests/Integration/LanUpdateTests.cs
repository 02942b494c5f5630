using System.Security.Cryptography;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>The method end to end with real node processes on loopback (issue: the core).</summary>
public static class LanUpdateTests
{
    private static readonly long[] Sizes = [1_024, 10_000, 100_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000];

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(50);
        }
    }

    [Trait("Category", "Network")]
    public sealed class Fleet(ITestOutputHelper output)
    {
        [Fact]
        public async Task FiveClientsUpdatingAtOnce_ApplyEveryPatch_AndTheUpstreamServesEachUniqueByteOnce()
        {
            await using var lan = await Lan.StartAsync(Sizes, clients: 5);

            var results = await Task.WhenAll(lan.Clients.Select(c => c.UpdateAsync()));

            for (var i = 0; i < results.Length; i++)
            {
                lan.AssertAllPatchesApplied(results[i], lan.Clients[i]);
            }

            // Internet bytes = unique bytes: each file was requested once and sent whole, once.
            foreach (var (patch, i) in lan.Patches.Select((p, i) => (p, i)))
            {
                Assert.Equal(1, lan.Internet.Requests($"f{i}.bin"));
                Assert.Equal(patch.Content.Size, lan.Internet.BytesServed($"f{i}.bin"));
            }

            Assert.Equal(lan.UniqueBytes, lan.Internet.TotalFileBytesServed);
            var fromInternet = results.SelectMany(r => r.Outcomes).Count(o => o.GetProperty("from").GetString() == "internet");
            var fromLan = results.SelectMany(r => r.Outcomes).Count(o => o.GetProperty("from").GetString() == "lan");
            Assert.Equal(lan.Patches.Count, fromInternet);
            Assert.Equal((lan.Clients.Count - 1) * lan.Patches.Count, fromLan);

            // The server publishes its database (claim 3).
            var published = await lan.Server.PatchesAsync();
            Assert.Equal(lan.Patches.Count, published.GetArrayLength());
            foreach (var row in published.EnumerateArray())
            {
                var patch = lan.Patches.Single(p => p.Patch == row.GetProperty("name").GetString());
                Assert.Equal(patch.Content.Sha256, row.GetProperty("sha256").GetString());
                Assert.Equal(patch.Content.Size, row.GetProperty("size").GetInt64());
                Assert.Equal(Lan.Os, row.GetProperty("os").GetString());
            }

            var status = await lan.Server.StatusAsync();
            Assert.Equal(0, status.GetProperty("activeClaims").GetInt32()); // every claim ended with its push
            output.WriteLine($"unique bytes {lan.UniqueBytes}, upstream served {lan.Internet.TotalFileBytesServed}; outcomes: {fromInternet} from internet, {fromLan} from LAN; server: {status.GetProperty("stats")}");

            // A second pass downloads and applies nothing.
            var second = await Task.WhenAll(lan.Clients.Select(c => c.UpdateAsync()));
            foreach (var result in second)
            {
                Assert.Equal(0, result.ExitCode);
                Assert.Empty(result.Outcomes);
                Assert.Equal(0, result.Summary.GetProperty("applied").GetInt32());
                Assert.Equal(lan.Patches.Count, result.Summary.GetProperty("alreadyApplied").GetInt32());
                Assert.Equal(0, result.Summary.GetProperty("internetBytes").GetInt64());
                Assert.Equal(0, result.Summary.GetProperty("lanBytes").GetInt64());
            }

            Assert.Equal(lan.UniqueBytes, lan.Internet.TotalFileBytesServed);
            foreach (var client in lan.Clients)
            {
                lan.AssertAppliedExactlyTheFeed(client);
            }
        }

        [Fact]
        public async Task UpdateOutsideATerminal_PrintsPlainLines_WhereEachPatchCameFrom()
        {
            await using var lan = await Lan.StartAsync([3_000_000, 20_000], clients: 2);
            Assert.Equal(0, (await lan.Clients[0].UpdateAsync()).ExitCode);

            // Standard output is a pipe here: no progress bars, one line per stage and per outcome.
            var plain = await NodeProcess.RunCliAsync("update", "--node", lan.Clients[1].Http.ToString());

            Assert.True(plain.ExitCode == 0, plain.Stdout + plain.Stderr);
            var lines = plain.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.DoesNotContain('\u001b', plain.Stdout);
            Assert.Contains($"applied  {lan.Patches[0].Patch}  (2.9 MiB from lan)", lines);
            Assert.Contains($"applied  {lan.Patches[1].Patch}  (19.5 KiB from lan)", lines);
            Assert.StartsWith("pass ", lines[^1], StringComparison.Ordinal);
            Assert.EndsWith("2 applied, 0 failed, 0 already applied; 2.9 MiB from the LAN, 0 B from the internet", lines[^1], StringComparison.Ordinal);
            output.WriteLine(plain.Stdout);
        }
    }

    [Trait("Category", "Network")]
    public sealed class Streaming(ITestOutputHelper output)
    {
        [Fact]
        public async Task NodesWaitingOnAClaim_StreamTheBytesWhileTheHolderIsStillDownloading()
        {
            await using var lan = await Lan.StartAsync([8_000_000], clients: 3);
            lan.Internet.RateLimit = 2_000_000; // 4 s of download: the other two ask while it runs

            var holding = lan.Clients[0].UpdateAsync();
            for (var watch = System.Diagnostics.Stopwatch.StartNew(); lan.Internet.BytesServed("f0.bin") < 1_000_000; await Task.Delay(20))
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the holder's download never started");
            }

            var waiting = lan.Clients.Skip(1).Select(c => c.UpdateAsync()).ToList();

            // While the holder is still downloading, the waiters already hold part of the bytes: the server passes
            // the push on as it arrives instead of after it completed.
            long servedMidway = -1;
            while (!holding.IsCompleted)
            {
                var upstream = lan.Internet.BytesServed("f0.bin");
                var served = (await lan.Server.StatusAsync()).GetProperty("stats").GetProperty("lanBytesServed").GetInt64();
                if (upstream < 7_000_000 && served > 2_000_000)
                {
                    servedMidway = served;
                    break;
                }

                await Task.Delay(50);
            }

            var holder = await holding;
            var waiters = await Task.WhenAll(waiting);

            Assert.True(servedMidway > 0, $"no bytes reached the waiters before the upstream had sent 7 of 8 MB; server log:\n{lan.Server.Output}");
            lan.AssertAllPatchesApplied(holder, lan.Clients[0]);
            Assert.Equal("internet", holder.Outcomes.Single().GetProperty("from").GetString());
            for (var i = 0; i < waiters.Length; i++)
            {
                lan.AssertAllPatchesApplied(waiters[i], lan.Clients[i + 1]);
                Assert.Equal("lan", waiters[i].Outcomes.Single().GetProperty("from").GetString());
                Assert.Contains("streamed from", lan.Clients[i + 1].Output);
            }

            Assert.Equal(1, lan.Internet.Requests("f0.bin"));
            Assert.Equal(8_000_000, lan.Internet.TotalFileBytesServed);
            var stats = (await lan.Server.StatusAsync()).GetProperty("stats");
            Assert.Equal(1, stats.GetProperty("pushesAccepted").GetInt64()); // the streamed push; no second one after the download
            output.WriteLine($"server had served {servedMidway} bytes to the waiters while the upstream was still sending; stats {stats}");
        }

        [Fact]
        public async Task AStreamedPushOfWrongBytes_NeverCompletesAWaitersCopy_AndTheRetryIsShared()
        {
            await using var lan = await Lan.StartAsync([4_000_000], clients: 2);
            lan.Internet.RateLimit = 2_000_000;
            lan.Internet.SetFault("f0.bin", UpstreamFault.WrongBytes); // the holder's first download (and its live push) fails its hash

            var holding = lan.Clients[0].UpdateAsync();
            for (var watch = System.Diagnostics.Stopwatch.StartNew(); lan.Internet.BytesServed("f0.bin") < 500_000; await Task.Delay(20))
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the holder's download never started");
            }

            var waiting = lan.Clients[1].UpdateAsync();
            for (var watch = System.Diagnostics.Stopwatch.StartNew(); !lan.Clients[1].Output.Contains("cut-through stream failed", StringComparison.Ordinal); await Task.Delay(20))
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the waiter's stream did not fail:\n" + lan.Clients[1].Output);
            }

            lan.Internet.SetFault("f0.bin", UpstreamFault.None); // the holder's retry gets the right bytes
            var holder = await holding;
            var waiter = await waiting;

            // The holder's live push never sent the last byte of bytes that failed the holder's own check: the server
            // refused the cut-off push and aborted the waiter's response before its end; the waiter asked again and got
            // the holder's retry from the LAN. Nothing wrong was applied anywhere.
            lan.AssertAllPatchesApplied(holder, lan.Clients[0]);
            lan.AssertAllPatchesApplied(waiter, lan.Clients[1]);
            Assert.Equal("lan", waiter.Outcomes.Single().GetProperty("from").GetString());
            // The cut-off push: the server never had the last byte (held back until the holder's own check, which failed).
            // How much of the rest it read before the holder's reset is a race (a TCP reset drops what the server had not
            // yet read; the holder flushes each chunk as it reads it), so the count is bounded, not exact: most of the
            // file had streamed live. The reset reaches the server either as a failed read of the body or as the
            // request's abort, whichever Kestrel sees first (seen both ways in CI): each is the same refused cut-off.
            var cutOff = System.Text.RegularExpressions.Regex.Match(lan.Server.Output, "push of KB5031000 .* rejected with 400: (?:reading the source failed|connection closed) after (\\d+) (?:of 4000000 )?bytes");
            Assert.True(cutOff.Success, "no refused cut-off push in the server log:\n" + lan.Server.Output);
            Assert.InRange(long.Parse(cutOff.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 3_000_000, 3_999_999);
            Assert.Equal(2, lan.Internet.Requests("f0.bin"));
            Assert.Equal(1, (await lan.Server.StatusAsync()).GetProperty("stats").GetProperty("pushesAccepted").GetInt64());
            output.WriteLine(string.Join('\n', lan.Clients[1].Output.Split('\n').Where(l => l.Contains("KB5031000", StringComparison.Ordinal))));
        }
    }

    [Trait("Category", "Network")]
    public sealed class ServerKill(ITestOutputHelper output)
    {
        [Fact]
        public async Task ServerKilledMidPass_EveryClientStillFinishes_AndTheRestartedServerIsConsistent()
        {
            await using var lan = await Lan.StartAsync(Sizes, clients: 5);
            lan.Internet.RateLimit = 25L << 20; // 25 MiB/s per connection: the pass takes seconds, so the kill lands inside it

            var updates = Task.WhenAll(lan.Clients.Select(c => c.UpdateAsync()));
            await WaitUntilAsync(async () => (await lan.Server.StatusAsync()).GetProperty("stats").GetProperty("pushesAccepted").GetInt64() >= 4, TimeSpan.FromSeconds(60));
            Assert.False(updates.IsCompleted, "the passes ended before the kill; the test would prove nothing");
            await lan.Server.KillAsync();
            output.WriteLine("server killed with SIGKILL");

            var results = await updates;
            for (var i = 0; i < results.Length; i++)
            {
                lan.AssertAllPatchesApplied(results[i], lan.Clients[i]);
            }

            var fallbacks = results.SelectMany(r => r.Outcomes).Count(o => o.GetProperty("from").GetString() == "internet");
            output.WriteLine($"after the kill: {fallbacks} patch downloads from the internet across 5 clients (10 unique patches)");

            // Restart on the same data directory: what it acknowledged is there, whole and consistent. The clients stop
            // first: their inventory reports to the restarted server would start pulls, whose temp files and blobs the
            // checks below would race with (seen in CI once clients obtained several patches at once).
            foreach (var client in lan.Clients)
            {
                await client.StopAsync();
            }

            await lan.Server.RestartAsync();
            Assert.Empty(Directory.GetFiles(Path.Combine(lan.Server.DataDir, "tmp")));
            var published = await lan.Server.PatchesAsync();
            var status = await lan.Server.StatusAsync();
            Assert.True(published.GetArrayLength() >= 4, $"only {published.GetArrayLength()} patches survived, 4 pushes were acknowledged");
            Assert.Equal(published.GetArrayLength(), status.GetProperty("blobs").GetProperty("count").GetInt32());
            using var http = new HttpClient();
            foreach (var row in published.EnumerateArray())
            {
                var sha = row.GetProperty("sha256").GetString()!;
                var bytes = await http.GetByteArrayAsync(new Uri(lan.Server.Http, $"v1/blobs/{sha}"));
                Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(bytes)));
                Assert.Equal(lan.Patches.Single(p => p.Patch == row.GetProperty("name").GetString()).Content.Sha256, sha);
            }

            var blobFiles = Directory.GetFiles(Path.Combine(lan.Server.DataDir, "blobs"), "*", SearchOption.AllDirectories);
            Assert.Equal(published.GetArrayLength(), blobFiles.Length);
            output.WriteLine($"restarted server holds {published.GetArrayLength()} patches, every one verified");

            await lan.Server.StopAsync();
            Assert.Equal("ok", PatchDatabase.Open(Path.Combine(lan.Server.DataDir, "peerpatch.db")).IntegrityCheck());
        }
    }
}
