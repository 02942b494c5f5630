using PeerPatch.Protocol.Status;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Transport;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Updating;

/// <summary>
/// The client's side of the conversation with a remote LAN server, without a node process: a
/// <see cref="RemoteServerChannel"/> over a real LiteNetLib transport on loopback to a fake server (a scripted
/// <see cref="ILanRequestHandler"/> that records what it was asked, and a small HTTP endpoint for pushes and the
/// inventory), with the channel's back-off on a fake clock.
/// </summary>
[Trait("Category", "Network")]
public sealed class RemoteServerChannelTests : IAsyncLifetime
{
    private const string Os = "test-1-amd64";
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-30T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly FakeServer _server = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly NodeIdentity _self = new("nclient", "iclient", Os, "0.1.0");
    private LanTransport _serverTransport = null!;
    private LanTransport _clientTransport = null!;
    private WebApplication _serverHttp = null!;
    private readonly ConcurrentQueue<IServerChannel> _sessionsOpened = new();
    private PatchDatabase _db = null!;
    private BlobStore _store = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _serverHttp = builder.Build();
        _serverHttp.MapPost("/v1/inventory", async (HttpContext ctx) =>
        {
            _server.Inventory.Enqueue((ctx.Request.Headers[PeerPatch.Protocol.Http.ApiHeaders.NodeId].ToString(), ctx.Request.Headers[PeerPatch.Protocol.Http.ApiHeaders.HttpPort].ToString(),
                await new StreamReader(ctx.Request.Body).ReadToEndAsync()));
            _server.InventoryQueries.Enqueue(ctx.Request.QueryString.Value ?? string.Empty);
            return Results.Ok();
        });
        _serverHttp.MapPut("/v1/blobs/{sha}", async (HttpContext ctx, string sha) =>
        {
            using var body = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(body);
            _server.Pushes.Enqueue((sha, ctx.Request.Query["name"].ToString(), ctx.Request.Headers.ContentLength, body.ToArray()));
            return _server.RefusePushes ? Results.StatusCode(507) : Results.StatusCode(201);
        });
        await _serverHttp.StartAsync();
        _server.HttpPort = new Uri(_serverHttp.Urls.First()).Port;

        _serverTransport = new LanTransport(new CoreOptions { Bind = "127.0.0.1", Port = 0 }, new TransportOptions(), new NodeStats(), TimeProvider.System, NullLogger<LanTransport>.Instance, handler: _server);
        await _serverTransport.StartAsync(CancellationToken.None);
        _clientTransport = new LanTransport(new CoreOptions { Bind = "127.0.0.1", Port = 0 }, new TransportOptions(), new NodeStats(), TimeProvider.System, NullLogger<LanTransport>.Instance);
        await _clientTransport.StartAsync(CancellationToken.None);
        _db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        _store = new BlobStore(_dir.Sub("blobs"), _db, new BlobStoreOptions(), _time);
    }

    [Fact]
    public async Task TheFirstRequest_GreetsTheServerWithHello_AndLaterRequestsReuseTheSession()
    {
        _server.Reply = _ => LookupResult.Miss(7, 15000);
        var channel = Channel(_serverTransport.LocalPort);

        var first = await channel.LookupAsync(new Lookup(Os, "KB1", null, 0, _self.NodeId), CancellationToken.None);
        var second = await channel.LookupAsync(new Lookup(Os, "KB2", null, 0, _self.NodeId), CancellationToken.None);

        Assert.Equal((LookupOutcome.Miss, 7UL), (first.Outcome, first.ClaimId));
        Assert.Equal(LookupOutcome.Miss, second.Outcome);
        var asked = _server.Requests.ToList();
        Assert.Equal([nameof(Hello), nameof(Lookup), nameof(Lookup)], asked.Select(r => r.GetType().Name));
        var hello = Assert.IsType<Hello>(asked[0]);
        Assert.Equal((_self.NodeId, _self.InstanceId, Os, 47999), (hello.NodeId, hello.InstanceId, hello.OsVersion, hello.HttpPort));
        Assert.Equal(["KB1", "KB2"], asked.OfType<Lookup>().Select(l => l.PatchName));
    }

    [Fact]
    public async Task ALookup_AsksForACompactHit_AndTheCompactAnswerIsSpelledOut_WithTheServerAsTheLastSource_AtTheAddressItWasReached()
    {
        var sha = new string('c', 64);
        var peer = new PeerSource("npeer", $"http://127.0.0.5:50005/v1/blobs/{sha}");
        _server.Reply = _ => LookupResult.Hit(sha, 5000, null!) with { Sources = [peer], PieceSize = 1 << 20, ServerListed = true };
        var channel = Channel(_serverTransport.LocalPort);

        var hit = await channel.LookupAsync(new Lookup(Os, "KB1", sha, 5000, _self.NodeId), CancellationToken.None);

        Assert.True(Assert.IsType<Lookup>(_server.Requests.Last()).CompactHit);
        Assert.False(hit.ServerListed);
        Assert.Equal("/v1/blobs/" + sha, hit.BlobUrl);
        Assert.Equal([("npeer", peer.BlobUrl), ("nserver", $"http://127.0.0.1:{_server.HttpPort}/v1/blobs/{sha}")], hit.Sources!.Select(s => (s.NodeId, s.BlobUrl)));
        Assert.Equal(1 << 20, hit.PieceSize);
        Assert.True(hit.IsValid());

        // A server that answers in full (an older build) is taken as it is.
        var full = LookupResult.Hit(sha, 5000, "/v1/blobs/" + sha) with { Sources = [peer], PieceSize = 1 << 20 };
        _server.Reply = _ => full;
        var asIs = await channel.LookupAsync(new Lookup(Os, "KB1", sha, 5000, _self.NodeId), CancellationToken.None);
        Assert.Equal(Convert.ToHexString(WireCodec.Encode(Envelope.Of(1, full))), Convert.ToHexString(WireCodec.Encode(Envelope.Of(1, asIs))));
    }

    [Fact]
    public async Task AnErrorReply_OrAReplyOfTheWrongType_IsALanUnavailableException_NotAWrongAnswer()
    {
        var channel = Channel(_serverTransport.LocalPort);
        _server.Reply = _ => new ErrorReply(ErrorCode.NotServer, "this node is not the LAN server");
        var refused = await Assert.ThrowsAsync<LanUnavailableException>(() => channel.LookupAsync(new Lookup(Os, "KB1", null, 0, _self.NodeId), CancellationToken.None));
        _server.Reply = _ => new Ack(true, 0, null);
        var confused = await Assert.ThrowsAsync<LanUnavailableException>(() => channel.LookupAsync(new Lookup(Os, "KB1", null, 0, _self.NodeId), CancellationToken.None));

        Assert.Contains("NotServer", refused.Message, StringComparison.Ordinal);
        Assert.Contains("answered Ack to Lookup", confused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableServer_FailsFastForABackOffThatDoubles_OnTheChannelsClock()
    {
        var nobody = FreePorts.Udp();
        var channel = Channel(nobody, new TransportOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300), ReconnectBackoff = TimeSpan.FromSeconds(1) });
        var lookup = new Lookup(Os, "KB1", null, 0, _self.NodeId);

        var first = await Assert.ThrowsAsync<LanUnavailableException>(() => channel.LookupAsync(lookup, CancellationToken.None));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var fast = await Assert.ThrowsAsync<LanUnavailableException>(() => channel.LookupAsync(lookup, CancellationToken.None));
        var failedFastIn = watch.Elapsed;
        _time.Advance(TimeSpan.FromSeconds(1.1));
        var retried = await Assert.ThrowsAsync<LanUnavailableException>(() => channel.LookupAsync(lookup, CancellationToken.None));
        var doubled = await Assert.ThrowsAsync<LanUnavailableException>(() => channel.LookupAsync(lookup, CancellationToken.None));

        // A real attempt fails as the transport says (refused at once on loopback, or no answer within the connect timeout) ...
        Assert.Contains($"127.0.0.1:{nobody}", first.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("next try in", first.Message, StringComparison.Ordinal);
        // ... and the next request within the back-off does not even try.
        Assert.Contains("next try in 1.0 s", fast.Message, StringComparison.Ordinal);
        Assert.True(failedFastIn < TimeSpan.FromMilliseconds(250), $"the fail-fast call took {failedFastIn.TotalMilliseconds:0} ms: it tried to connect");
        Assert.DoesNotContain("next try in", retried.Message, StringComparison.Ordinal); // after the back-off: a real attempt again
        Assert.Contains("next try in 2.0 s", doubled.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANewSession_IsAnnouncedOnce_AndTheInventoryReportGoesToTheServersHttpPort()
    {
        var (sha, size) = await StoreAsync("KB-held", 3000);
        _server.Reply = _ => LookupResult.Miss(1, 15000);
        var channel = Channel(_serverTransport.LocalPort);

        await channel.LookupAsync(new Lookup(Os, "KB1", null, 0, _self.NodeId), CancellationToken.None);
        await channel.LookupAsync(new Lookup(Os, "KB2", null, 0, _self.NodeId), CancellationToken.None);
        Assert.Same(channel, Assert.Single(_sessionsOpened)); // one session, announced once (InventoryReporter reports on it)
        Assert.Equal(1, channel.SessionNumber);
        await channel.ReportInventoryAsync([new InventoryEntry(Os, "KB-held", sha, size, null)], CancellationToken.None);

        for (var watch = System.Diagnostics.Stopwatch.StartNew(); _server.Inventory.IsEmpty; await Task.Delay(20))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "no inventory was posted");
        }

        var (node, httpPort, json) = Assert.Single(_server.Inventory);
        Assert.Equal((_self.NodeId, "47999"), (node, httpPort));
        var row = Assert.Single(JsonDocument.Parse(json).RootElement.EnumerateArray());
        Assert.Equal((Os, "KB-held", sha, size), (row.GetProperty("os").GetString(), row.GetProperty("name").GetString(), row.GetProperty("sha256").GetString(), row.GetProperty("size").GetInt64()));

        // A blob just stored, and one just gone, each say so in the query.
        await channel.ReportInventoryAsync([new InventoryEntry(Os, "KB-held", sha, size, null)], CancellationToken.None, InventoryKind.Added);
        await channel.ReportInventoryAsync([new InventoryEntry(null, null, sha, 0, null)], CancellationToken.None, InventoryKind.Gone);
        Assert.Equal(["", "?delta=1", "?gone=1"], _server.InventoryQueries);
    }

    [Fact]
    public async Task APush_PutsTheBlobToTheServer_ThenReportsPushDone_AndARefusedPushIsAnError()
    {
        var (sha, size) = await StoreAsync("KB-push", 5000);
        var patch = new PatchSpec(Os, "KB-push", new Uri("http://user:secret@example.invalid/p?token=x"), sha, size, new ApplySpec("/bin/true", [], TimeSpan.FromMinutes(1)));
        _server.Reply = r => r is PushDone done ? new Ack(done.Sha256 == sha && done.Size == size, 0, null) : new Ack(false, 0, "unexpected");
        var channel = Channel(_serverTransport.LocalPort);

        Assert.True(await channel.PushAsync(patch, claimId: 42, bodySent: false, CancellationToken.None));

        var (pushedSha, name, length, bytes) = Assert.Single(_server.Pushes);
        Assert.Equal((sha, "KB-push", (long?)size), (pushedSha, name, length));
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        var done = Assert.Single(_server.Requests.OfType<PushDone>());
        Assert.Equal((42UL, sha, size), (done.ClaimId, done.Sha256, done.Size));

        _server.RefusePushes = true;
        var refused = await Assert.ThrowsAsync<LanUnavailableException>(() => channel.PushAsync(patch, claimId: 43, bodySent: false, CancellationToken.None));
        Assert.Contains("server refused the push: 507", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.Requests.OfType<PushDone>(), d => d.ClaimId == 43); // no PushDone for a push the server did not store
    }

    [Fact]
    public async Task ABlobUrlFromTheServer_IsResolvedAgainstItsHttpPort_UnlessItIsAbsolute()
    {
        _server.Reply = _ => LookupResult.Miss(1, 15000);
        var channel = Channel(_serverTransport.LocalPort);
        Assert.Throws<LanUnavailableException>(() => channel.ResolveBlobUrl("/v1/blobs/abc")); // no session yet

        await channel.ConnectAsync(CancellationToken.None);

        Assert.Equal(new Uri($"http://127.0.0.1:{_server.HttpPort}/v1/blobs/abc"), channel.ResolveBlobUrl("/v1/blobs/abc"));
        Assert.Equal(new Uri("http://10.0.0.7:47471/v1/blobs/abc"), channel.ResolveBlobUrl("http://10.0.0.7:47471/v1/blobs/abc"));
    }

    private RemoteServerChannel Channel(int port, TransportOptions? transport = null)
    {
        var core = new CoreOptions { DataDir = _dir.Path, HttpPort = 47999 };
        return new RemoteServerChannel("127.0.0.1", port, _sessionsOpened.Enqueue, _clientTransport, _http, _store, _self, new HttpEndpointInfo(core),
            new ServerLinkOptions { LookupTimeout = TimeSpan.FromSeconds(5) }, transport ?? new TransportOptions(), new TransferOptions(), new NodeStats(), new SystemRandomSource(), _time);
    }

    private async Task<(string Sha, long Size)> StoreAsync(string name, int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.True((await _store.WriteAsync(new MemoryStream(bytes), sha, size, long.MaxValue, CancellationToken.None)).Succeeded);
        _db.AddPatch(new PatchRecord(Os, name, sha, size, null, _time.GetUtcNow(), "nclient", 0, null));
        return (sha, size);
    }

    public async Task DisposeAsync()
    {
        await _clientTransport.StopAsync(CancellationToken.None);
        await _serverTransport.StopAsync(CancellationToken.None);
        await _serverHttp.DisposeAsync();
        _http.Dispose();
        _dir.Dispose();
    }

    /// <summary>The server's side: records every request, answers Hello with its HTTP port and the rest as scripted.</summary>
    private sealed class FakeServer : ILanRequestHandler
    {
        public int HttpPort { get; set; }

        public Func<IMessage, IMessage> Reply { get; set; } = _ => new ErrorReply(ErrorCode.Internal, "no reply scripted");

        public bool RefusePushes { get; set; }

        public ConcurrentQueue<IMessage> Requests { get; } = new();

        public ConcurrentQueue<(string Node, string HttpPort, string Json)> Inventory { get; } = new();

        public ConcurrentQueue<string> InventoryQueries { get; } = new();

        public ConcurrentQueue<(string Sha, string Name, long? Length, byte[] Bytes)> Pushes { get; } = new();

        public IMessage Handle(IMessage request, IPEndPoint from)
        {
            Requests.Enqueue(request);
            return request is Hello ? new HelloAck("nserver", "iserver", NodeRole.Server, HttpPort, "0.1.0") : Reply(request);
        }
    }
}
