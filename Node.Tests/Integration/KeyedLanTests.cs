using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using LiteNetLib;
using LiteNetLib.Utils;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Security;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// A keyed LAN (issue 5) with real node processes on loopback: key holders share patches; a node with another key,
/// an HTTP client without it and a LiteNetLib client that only knows the public cluster id get nothing.
/// </summary>
[Trait("Category", "Network")]
public sealed class KeyedLanTests(ITestOutputHelper output)
{
    [Fact]
    public async Task KeyHolders_ShareEveryPatch_WhileANodeWithAnotherKey_IsRefused_AndUpdatesFromTheInternet()
    {
        using var dir = new TempDir();
        var key = await KeygenAsync(dir.Sub("cluster.key"));
        var otherKey = await KeygenAsync(dir.Sub("other.key"));
        await using var internet = await FakeInternet.StartAsync();
        var patches = Enumerable.Range(0, 3).Select(i => ($"KB{7000 + i}", internet.AddFile($"k{i}.bin", 300_000 + (i * 1000), seed: 70 + i))).ToList();
        internet.SetFeed(Lan.Os, patches.Select((p, i) => (p.Item1, $"k{i}.bin")));
        var feed = "manifest:" + internet.FeedUrlTemplate;

        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server", "--cluster-key-file", key.Path);
        await using var first = await NodeProcess.StartAsync("first", dir.Sub("first"), "--server", server.ServerAddress, "--source", feed, "--cluster-key-file", key.Path);
        await using var second = await NodeProcess.StartAsync("second", dir.Sub("second"), "--server", server.ServerAddress, "--source", feed, "--cluster-key-file", key.Path);
        await using var intruder = await NodeProcess.StartAsync("intruder", dir.Sub("intruder"), "--server", server.ServerAddress, "--source", feed, "--cluster-key-file", otherKey.Path);

        var one = await first.UpdateAsync();
        var two = await second.UpdateAsync();
        var three = await intruder.UpdateAsync();

        Assert.True(one.ExitCode == 0, one.Stderr + one.Stdout + first.Output);
        Assert.All(one.Outcomes, o => Assert.Equal("internet", o.GetProperty("from").GetString()));
        Assert.True(two.ExitCode == 0, two.Stderr + two.Stdout);
        Assert.All(two.Outcomes, o => Assert.Equal("lan", o.GetProperty("from").GetString()));

        // The intruder is never blocked: every patch from the internet, verified and applied, and its log says why.
        Assert.True(three.ExitCode == 0, three.Stderr + three.Stdout);
        Assert.Equal(3, three.Outcomes.Count(o => o.GetProperty("from").GetString() == "internet" && o.GetProperty("applied").GetBoolean()));
        output.WriteLine(string.Join("\n", intruder.Output.Split('\n').Where(l => l.Contains("WRN", StringComparison.Ordinal))));
        Assert.Contains("it does not hold this LAN's cluster key", intruder.Output, StringComparison.Ordinal);

        var status = await server.StatusAsync();
        var stats = status.GetProperty("stats");
        var unique = patches.Sum(p => p.Item2.Size);
        Assert.Equal(key.Key.ClusterId, status.GetProperty("clusterId").GetString());
        Assert.Equal(unique, stats.GetProperty("lanBytesReceived").GetInt64()); // the first client's pushes only, signed
        Assert.Equal(3, stats.GetProperty("pushesAccepted").GetInt64());
        Assert.Equal(3, stats.GetProperty("misses").GetInt64()); // the intruder's lookups never reached the server
        Assert.True(stats.GetProperty("badDatagrams").GetInt64() >= 1, "the intruder's connection requests were not counted");
        Assert.Equal(2 * unique, internet.TotalFileBytesServed); // once for the LAN, once more for the intruder, who got nothing from it
        output.WriteLine($"server {stats}; intruder outcomes: {string.Join(", ", three.Outcomes.Select(o => o.GetProperty("from").GetString()))}");
    }

    [Fact]
    public async Task HttpWrites_NeedAFreshSignature_AndBlobReadsTheKeyToo()
    {
        using var dir = new TempDir();
        var key = await KeygenAsync(dir.Sub("cluster.key"));
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server", "--cluster-key-file", key.Path);
        using var http = new HttpClient { BaseAddress = server.Http, Timeout = TimeSpan.FromSeconds(10) };
        var content = new GeneratedContent(100_000, seed: 5).ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        var target = $"/v1/blobs/{sha}?os={Lan.Os}&name=KB1";
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        async Task<(HttpStatusCode Code, string Body)> PutAsync(string? authorization)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, target) { Content = new ByteArrayContent(content) };
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/status")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/patches")).StatusCode);

        var unsigned = await PutAsync(null);
        var wrongKey = await PutAsync(HttpSignature.Create(ClusterKey.Generate(), "PUT", target, "x1", now, RandomNumberGenerator.GetBytes(16)));
        var stale = await PutAsync(HttpSignature.Create(key.Key, "PUT", target, "x1", now - (long)TimeSpan.FromMinutes(20).TotalMilliseconds, RandomNumberGenerator.GetBytes(16)));
        var otherTarget = await PutAsync(HttpSignature.Create(key.Key, "PUT", target + "2", "x1", now, RandomNumberGenerator.GetBytes(16)));
        using (var upper = new HttpRequestMessage(HttpMethod.Put, target.Replace("/v1/", "/V1/", StringComparison.Ordinal)) { Content = new ByteArrayContent(content) })
        using (var response = await http.SendAsync(upper))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode); // routing ignores case: so must the check
        }

        Assert.Equal(0, (await server.StatusAsync()).GetProperty("blobs").GetProperty("count").GetInt32());

        var good = HttpSignature.Create(key.Key, "PUT", target, "x1", now, RandomNumberGenerator.GetBytes(16));
        var signed = await PutAsync(good);
        var replayed = await PutAsync(good);

        using var update = await http.PostAsync("/v1/update", null);
        using var inventory = await http.PostAsync("/v1/inventory", new StringContent("[]"));
        output.WriteLine($"unsigned {unsigned}, wrong key {wrongKey}, 20 min old {stale}, signed for another target {otherTarget}, signed {signed}, replayed {replayed}, update {(int)update.StatusCode}, inventory {(int)inventory.StatusCode}");
        Assert.Equal((HttpStatusCode.Unauthorized, "this endpoint needs the cluster key: no Authorization header\n"), unsigned);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.Code);
        Assert.Contains("not signed with this LAN's cluster key", wrongKey.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.Code);
        Assert.Contains("check both clocks", stale.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, otherTarget.Code);
        Assert.Equal(HttpStatusCode.Created, signed.Code);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.Code);
        Assert.Contains("replayed", replayed.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, update.StatusCode); // even from loopback: passes need the key too
        Assert.Equal(HttpStatusCode.Unauthorized, inventory.StatusCode);

        // What was accepted is served intact, but only to members (issue 16: a keyed LAN serves blobs only to its
        // members): an unsigned read is refused, a read signed with the key gets the bytes.
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"/v1/blobs/{sha}")).StatusCode);
        using (var read = new HttpRequestMessage(HttpMethod.Get, $"/v1/blobs/{sha}"))
        {
            read.Headers.TryAddWithoutValidation("Authorization", HttpSignature.Create(key.Key, "GET", $"/v1/blobs/{sha}", "x1", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RandomNumberGenerator.GetBytes(16)));
            using var response = await http.SendAsync(read);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(1, (await server.StatusAsync()).GetProperty("blobs").GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task AClientThatKnowsOnlyThePublicClusterId_GetsAChallenge_NoAnswers_AndIsDisconnected()
    {
        using var dir = new TempDir();
        var key = await KeygenAsync(dir.Sub("cluster.key"));
        await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server", "--cluster-key-file", key.Path);
        var received = new List<byte[]>();
        var disconnected = new TaskCompletionSource<DisconnectReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = new EventBasedNetListener();
        listener.NetworkReceiveEvent += (_, reader, _, _) =>
        {
            lock (received)
            {
                received.Add(reader.GetRemainingBytes());
            }
        };
        listener.PeerDisconnectedEvent += (_, info) => disconnected.TrySetResult(info.Reason);
        var client = new NetManager(listener) { UnsyncedEvents = true, DisconnectTimeout = 30_000 };
        Assert.True(client.Start(IPAddress.Loopback, IPAddress.IPv6Any, 0));
        try
        {
            var hello = new NetDataWriter();
            hello.Put($"PeerPatch/1+{key.Key.ClusterId}"); // public: it is in every mDNS advert
            hello.Put(RandomNumberGenerator.GetBytes(16));
            var peer = client.Connect(new IPEndPoint(IPAddress.Loopback, server.Udp), hello)!;
            var started = DateTime.UtcNow;
            while (peer.ConnectionState != ConnectionState.Connected && DateTime.UtcNow - started < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(10);
            }

            Assert.Equal(ConnectionState.Connected, peer.ConnectionState);
            var lookup = WireCodec.Encode(Envelope.Of(1, new Lookup(Lan.Os, "KB1", null, -1, "intruder")));
            peer.Send(lookup, DeliveryMethod.ReliableUnordered); // plain, as an open LAN would take it
            peer.Send(ClusterKey.Generate().Unconnected.Seal(1, lookup), DeliveryMethod.ReliableUnordered); // sealed with a guess
            var reason = await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(15));
            var lasted = DateTime.UtcNow - started;

            lock (received)
            {
                var challenge = Assert.Single(received); // nothing but the server's nonce, ever
                Assert.Equal(17, challenge.Length);
                Assert.Equal(0xC7, challenge[0]);
            }

            Assert.InRange(lasted, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8));
            var stats = (await server.StatusAsync()).GetProperty("stats");
            Assert.True(stats.GetProperty("badDatagrams").GetInt64() >= 2);
            Assert.Equal(0, stats.GetProperty("misses").GetInt64() + stats.GetProperty("hits").GetInt64());
            output.WriteLine($"challenge only; disconnected ({reason}) after {lasted.TotalSeconds:0.0} s; server counted {stats.GetProperty("badDatagrams").GetInt64()} bad datagrams");
        }
        finally
        {
            client.Stop();
        }
    }

    internal static async Task<(string Path, ClusterKey Key)> KeygenAsync(string path)
    {
        var made = await NodeProcess.RunCliAsync("keygen", "--out", path);
        Assert.True(made.ExitCode == 0, made.Stderr);
        Assert.Contains("wrote cluster ", made.Stdout, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.True(ClusterKey.TryParse(File.ReadAllText(path), out var key, out var error), error);
        var again = await NodeProcess.RunCliAsync("keygen", "--out", path);
        Assert.Equal(2, again.ExitCode); // never overwrites a LAN's key by accident
        return (path, key!);
    }
}
