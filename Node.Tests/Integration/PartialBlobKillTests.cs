using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Durability of a node RECEIVING a large patch in pieces from two holders (the server and a peer) while it serves the
/// pieces it verified to others (a third node's pass, and a checker that asks it for random pieces): it is SIGKILLed at
/// random instants (seeded; the seed is printed). After each kill its database passes integrity_check; after the restart
/// no temp file is left, every blob file hashes to its name and is recorded, it serves no byte of the patch it no longer
/// holds, its next pass applies the right bytes, and the third node's pass applies the right bytes with no bad piece.
/// Real processes (the published Native AOT executable) on loopback.
/// </summary>
[Trait("Category", "Network")]
public sealed class PartialBlobKillTests(ITestOutputHelper output)
{
    private const int PieceSize = 1 << 20;
    private const long SourceRate = 24L << 20; // per holder: a 64-160 MiB fetch takes a few seconds

    [Fact]
    public async Task ReceivingNodeKilledAtRandomInstants_WhileServingItsVerifiedPieces_LosesNothing_AndServesOnlyVerifiedBytes()
    {
        // Two rounds in the suite (about 17 s each; a new seed every run), one of them killing the peer too. PK_ROUNDS=20
        // is the soak: 47 kills over three such runs passed when this test was written.
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("PK_ROUNDS"), out var r) ? r : 2;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("PK_SEED"), out var s) ? s : Environment.TickCount & 0x7fffffff;
        Log($"seed {seed}, {rounds} rounds");
        var random = new Random(seed);
        using var dir = new TempDir();
        await using var internet = await FakeInternet.StartAsync();
        var feed = "manifest:" + internet.FeedUrlTemplate;
        var limited = $$"""{"UploadRateLimit":{{SourceRate}}}""";
        await using var server = await NodeProcess.StartWithConfigAsync("server", dir.Sub("server"), limited, "--role", "server", "--source", feed);
        await using var peer = await NodeProcess.StartWithConfigAsync("peer", dir.Sub("peer"), limited, "--server", server.ServerAddress, "--source", feed);
        await using var victim = await NodeProcess.StartAsync("victim", dir.Sub("victim"), "--server", server.ServerAddress, "--source", feed);
        await using var third = await NodeProcess.StartAsync("third", dir.Sub("third"), "--server", server.ServerAddress, "--source", feed);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(20) };

        var totals = new Counts();
        var failures = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            var size = random.NextInt64(64L << 20, 160L << 20);
            var patch = $"KB-{round}";
            var content = internet.AddFile($"f{round}.bin", size, seed: seed + round);
            var pieces = PieceHashes(content);
            internet.SetFeed(Lan.Os, [(patch, $"f{round}.bin")]);

            // Two holders: the server (from the internet) and a peer (from the server).
            Require((await server.UpdateAsync()).ExitCode == 0, "server pass", server);
            Require((await peer.UpdateAsync()).ExitCode == 0, "peer pass", peer);

            // One holder's time for the whole patch: about twice the fetch's from the two (24 MiB/s each and a burst:
            // 72 MiB were committed within 1.75 s of the pass's start here), so the odd rounds' window runs past the commit.
            var expectedMs = (int)(size * 1000 / SourceRate) + 500;
            // Even rounds: once the victim has verified a random 25-75 % of the patch (its own progress, GET /v1/status),
            // whatever the machine's speed: pieces arriving, the temp file there. (A window of [expectedMs/4, expectedMs/2]
            // ms from the pass's start, as before, ended up to 250 ms after the commit of a fetch at full speed:
            // PK_SEED=1471 killed after both rounds' commits and failed with "no kill landed in the middle of a fetch".)
            // Odd rounds: any instant from the pass's start to past its commit.
            var killAtShare = round % 2 == 0 ? 0.25 + (random.NextDouble() / 2) : 0;
            var killAfter = round % 2 == 0 ? 0 : random.Next(50, (int)(expectedMs * 1.3));
            var thirdAfter = random.Next(100, 600);
            var watch = Stopwatch.StartNew();
            var pass = victim.UpdateAsync();
            // Odd rounds: the peer (a whole holder the victim is fetching from) is killed and restarted mid-download too.
            var peerKillAfter = round % 2 == 1 ? random.Next(100, expectedMs) : -1;
            var peerRestart = peerKillAfter < 0 ? Task.CompletedTask : KillAndRestartAsync(peer, peerKillAfter);
            using var stopChecking = new CancellationTokenSource();
            var checking = CheckServedPiecesAsync(http, victim, content.Sha256, pieces, size, stopChecking.Token);
            await Task.Delay(thirdAfter);
            var thirdPass = third.UpdateAsync();
            var verifiedAtKill = round % 2 == 0
                ? await UntilVerifiedAsync(http, victim, pass, (long)(size * killAtShare))
                : -1;
            await Task.Delay(Math.Max(0, killAfter - thirdAfter));
            var servedAsPeer = await ServedAsPeerAsync(http, victim);
            var heldAtKill = File.Exists(BlobPath(victim, content.Sha256));
            var temps = Directory.GetFiles(Path.Combine(victim.DataDir, "tmp")).Length; // last before the kill: a commit in between does not count as mid-fetch
            await victim.KillAsync();
            var killedAt = watch.ElapsedMilliseconds;
            await stopChecking.CancelAsync();
            var checkedBefore = await checking;
            var cut = await pass;
            await peerRestart;

            // As the kill left it: the database is consistent.
            var integrity = PatchDatabase.Open(Path.Combine(victim.DataDir, "peerpatch.db")).IntegrityCheck();
            if (integrity != "ok")
            {
                failures.Add($"round {round}: integrity_check after the kill: {integrity}");
            }

            await victim.RestartAsync();
            var leftTemps = Directory.GetFiles(Path.Combine(victim.DataDir, "tmp")).Length;
            if (leftTemps != 0)
            {
                failures.Add($"round {round}: {leftTemps} temp files after the restart");
            }

            failures.AddRange((await StoreProblemsAsync(victim)).Select(p => $"round {round}: {p}"));
            if (peerKillAfter >= 0)
            {
                failures.AddRange((await StoreProblemsAsync(peer)).Select(p => $"round {round}: peer: {p}"));
                if (!File.Exists(BlobPath(peer, content.Sha256)))
                {
                    failures.Add($"round {round}: the peer lost its acknowledged copy in its kill");
                }
            }

            // After the restart: a blob it does not hold is not served at all; one it holds, only whole and right.
            var checkedAfter = await CheckServedPiecesAsync(http, victim, content.Sha256, pieces, size, null);

            // The next pass completes with the right bytes; the third node's pass too, with no bad piece from anyone.
            var again = await victim.UpdateAsync();
            var thirdResult = await thirdPass;
            var victimApplied = Lan.AppliedLog(victim).Count(l => l == $"{content.Sha256} {patch}");
            var thirdApplied = Lan.AppliedLog(third).Count(l => l == $"{content.Sha256} {patch}");
            if (again.ExitCode != 0 || victimApplied < 1)
            {
                failures.Add($"round {round}: the victim's pass after the restart exited {again.ExitCode}, applied {victimApplied}x: {again.Stdout} {again.Stderr}");
            }

            if (thirdResult.ExitCode != 0 || thirdApplied != 1)
            {
                failures.Add($"round {round}: the third node's pass exited {thirdResult.ExitCode}, applied {thirdApplied}x: {thirdResult.Stdout} {thirdResult.Stderr}");
            }

            var badOnThird = await BadPiecesAsync(http, third);
            var from = again.Outcomes.FirstOrDefault() is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("from", out var f) ? f.GetString() : "?";
            var thirdFrom = thirdResult.Outcomes.FirstOrDefault() is { ValueKind: JsonValueKind.Object } t && t.TryGetProperty("from", out var tf) ? tf.GetString() : "?";
            totals.Add(checkedBefore, checkedAfter, temps > 0, heldAtKill, cut.ExitCode == 0, victimApplied > 1);
            Log($"round {round}: {size / (1 << 20)} MiB, {(peerKillAfter >= 0 ? $"peer killed+restarted at {peerKillAfter} ms, " : "")}kill at {killedAt} ms{(verifiedAtKill >= 0 ? $" ({verifiedAtKill * 100 / size} % verified, target {killAtShare * 100:0} %)" : "")} (third started at {thirdAfter} ms), temps at kill {temps}, held {heldAtKill}, "
                + $"cut pass exit {cut.ExitCode}, served as peer {servedAsPeer / (1 << 20)} MiB; pieces served before kill: {checkedBefore}; after restart: {checkedAfter}; "
                + $"next pass from {from} (applied {victimApplied}x); third from {thirdFrom}, exit {thirdResult.ExitCode}, bad pieces seen by the third (cumulative) {badOnThird}");
            if (badOnThird > 0)
            {
                failures.Add($"round {round}: the third node counted {badOnThird} bad pieces");
            }
        }

        Log($"totals: {totals}");
        Assert.True(failures.Count == 0, string.Join("\n", failures) + "\n" + victim.Output[^Math.Min(victim.Output.Length, 20000)..]);
        Assert.Equal(0, totals.BadPieces);
        Assert.True(totals.MidFetchKills > 0, "no kill landed in the middle of a fetch");
    }

    /// <summary>
    /// Asks <paramref name="node"/> for random pieces of the blob until cancelled (or once per piece when
    /// <paramref name="stop"/> is null): every 206/200 must carry exactly the right bytes.
    /// </summary>
    private static async Task<ServeCounts> CheckServedPiecesAsync(HttpClient http, NodeProcess node, string sha, IReadOnlyList<byte[]> pieces, long size, CancellationToken? stop)
    {
        var counts = new ServeCounts();
        var random = new Random(sha.GetHashCode());
        var url = new Uri(node.Http, $"v1/blobs/{sha}");
        var index = 0;
        while (stop is { } token ? !token.IsCancellationRequested : index < pieces.Count)
        {
            var piece = stop is null ? index++ : random.Next(pieces.Count);
            var from = (long)piece * PieceSize;
            var to = Math.Min(size, from + PieceSize) - 1;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Range = new RangeHeaderValue(from, to);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
                switch (response.StatusCode)
                {
                    case HttpStatusCode.PartialContent:
                        var body = await response.Content.ReadAsByteArrayAsync();
                        if (SHA256.HashData(body).AsSpan().SequenceEqual(pieces[piece]))
                        {
                            counts.Good++;
                        }
                        else
                        {
                            counts.Bad++;
                        }

                        break;
                    case HttpStatusCode.ServiceUnavailable:
                        counts.Busy++;
                        break;
                    case HttpStatusCode.NotFound:
                        counts.Missing++;
                        break;
                    default:
                        counts.Other++;
                        break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                counts.Errors++; // the node died under the request: no bytes were taken as a piece
            }

            if (stop is { } t && !t.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(15, t);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        return counts;
    }

    /// <summary>What is wrong in the node's store: a blob file whose hash is not its name, a file without a record, a record without its file.</summary>
    private static async Task<List<string>> StoreProblemsAsync(NodeProcess node)
    {
        var problems = new List<string>();
        var rows = PatchDatabase.Open(Path.Combine(node.DataDir, "peerpatch.db")).ListBlobs().ToDictionary(b => b.Sha256, b => b.Size);
        var files = Directory.GetFiles(Path.Combine(node.DataDir, "blobs"), "*", SearchOption.AllDirectories);
        foreach (var file in files)
        {
            await using var stream = File.OpenRead(file);
            var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
            var name = Path.GetFileName(file);
            if (actual != name)
            {
                problems.Add($"blob {name} hashes to {actual}");
            }

            if (!rows.TryGetValue(name, out var recorded) || recorded != stream.Length)
            {
                problems.Add($"blob file {name} has no record of its size");
            }
        }

        foreach (var sha in rows.Keys.Except(files.Select(Path.GetFileName)!))
        {
            problems.Add($"record {sha} has no file");
        }

        return problems;
    }

    /// <summary>
    /// Waits until the victim's update pass has verified at least <paramref name="bytes"/> of the patch (the "lan" transfer
    /// of GET /v1/status), its pass has ended, or 60 s have passed; returns the verified bytes last seen (-1: none seen).
    /// </summary>
    private static async Task<long> UntilVerifiedAsync(HttpClient http, NodeProcess node, Task pass, long bytes)
    {
        var seen = -1L;
        for (var waited = Stopwatch.StartNew(); seen < bytes && !pass.IsCompleted && waited.Elapsed < TimeSpan.FromSeconds(60); await Task.Delay(10))
        {
            try
            {
                using var status = JsonDocument.Parse(await http.GetStringAsync(new Uri(node.Http, "v1/status")));
                if (status.RootElement.TryGetProperty("transfers", out var transfers) && transfers.ValueKind == JsonValueKind.Array)
                {
                    foreach (var t in transfers.EnumerateArray())
                    {
                        if (t.GetProperty("owner").GetString() == "pass" && t.GetProperty("stage").GetString() == "lan")
                        {
                            seen = Math.Max(seen, t.GetProperty("bytes").GetInt64());
                        }
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
            }
        }

        return seen;
    }

    private static async Task KillAndRestartAsync(NodeProcess node, int afterMs)
    {
        await Task.Delay(afterMs);
        await node.KillAsync();
        await node.RestartAsync();
    }

    private static async Task<long> ServedAsPeerAsync(HttpClient http, NodeProcess node)
    {
        try
        {
            return (await node.StatusAsync()).GetProperty("stats").GetProperty("bytesServedAsPeer").GetInt64();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or KeyNotFoundException)
        {
            return -1;
        }
    }

    private static async Task<long> BadPiecesAsync(HttpClient http, NodeProcess node)
    {
        var text = await http.GetStringAsync(new Uri(node.Http, "metrics"));
        return (long)PrometheusText.Parse(text).Value("peerpatch_bad_pieces_total");
    }

    private static IReadOnlyList<byte[]> PieceHashes(GeneratedContent content)
    {
        var hashes = new List<byte[]>();
        var buffer = new byte[GeneratedContent.BlockBytes];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long offset = 0; offset < content.Size; offset += GeneratedContent.BlockBytes)
        {
            var n = content.Fill(buffer, offset);
            hash.AppendData(buffer, 0, n);
            if ((offset + n) % PieceSize == 0 || offset + n == content.Size)
            {
                hashes.Add(hash.GetHashAndReset());
            }
        }

        return hashes;
    }

    private static string BlobPath(NodeProcess node, string sha) => Path.Combine(node.DataDir, "blobs", sha[..2], sha);

    private static void Require(bool ok, string what, NodeProcess node) => Assert.True(ok, $"{what} failed:\n{node.Output}");

    private void Log(string line)
    {
        output.WriteLine(line);
        Console.WriteLine("[pk] " + line);
    }

    private sealed class ServeCounts
    {
        public int Good { get; set; }

        public int Bad { get; set; }

        public int Busy { get; set; }

        public int Missing { get; set; }

        public int Other { get; set; }

        public int Errors { get; set; }

        public override string ToString() => $"{Good} good, {Bad} BAD, {Busy} busy, {Missing} 404, {Other} other, {Errors} cut";
    }

    private sealed class Counts
    {
        public int BadPieces { get; private set; }

        public int GoodPieces { get; private set; }

        public int MidFetchKills { get; private set; }

        public int AfterCommitKills { get; private set; }

        public int PassesFinishedBeforeKill { get; private set; }

        public int DoubleApplies { get; private set; }

        public int ServedAfterRestart { get; private set; }

        public void Add(ServeCounts before, ServeCounts after, bool midFetch, bool held, bool finished, bool doubleApplied)
        {
            BadPieces += before.Bad + after.Bad;
            GoodPieces += before.Good;
            ServedAfterRestart += after.Good;
            MidFetchKills += midFetch ? 1 : 0;
            AfterCommitKills += held ? 1 : 0;
            PassesFinishedBeforeKill += finished ? 1 : 0;
            DoubleApplies += doubleApplied ? 1 : 0;
        }

        public override string ToString() =>
            $"{MidFetchKills} kills mid-fetch (temp file present), {AfterCommitKills} after the commit, {PassesFinishedBeforeKill} passes finished before the kill; "
            + $"{GoodPieces} verified pieces served by the victim before kills, {BadPieces} bad; {ServedAfterRestart} pieces served after restarts; {DoubleApplies} double applies";
    }
}
