using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.ServerLink;

/// <summary>The inventory report is an explicit step: the reporter sends it on each new session with the server, not the channel as a side effect.</summary>
public sealed class InventoryReporterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task EachNewSessionWithTheServer_GetsThisNodesInventory_OnceWithHeldBlobsOnly()
    {
        var db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        var store = new BlobStore(_dir.Path, db, new BlobStoreOptions { CapacityBytes = 1 << 30 }, TimeProvider.System);
        var held = await StoreAsync(store, "KB-HELD", 1);
        db.AddPatch(new PatchRecord("test-1-amd64", "KB-GONE", new string('a', 64), 10, null, DateTimeOffset.UnixEpoch, "n1", 0, null)); // no blob: not reported
        var cluster = new ClusterState(new ClusterOptions { Role = RoleSetting.Client, Server = "10.0.0.1:47470" }, new NodeIdentity("n1", "i1", "test-1-amd64", "0.1.0"), TimeProvider.System);
        var servers = new FakeServers();
        using var reporter = new InventoryReporter(cluster, servers, new InventoryReport(db, store), store, new StartedLifetime(), new SystemRandomSource(), TimeProvider.System, NullLogger<InventoryReporter>.Instance);

        await reporter.StartAsync(CancellationToken.None);
        var first = await servers.Channel.Reports.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        var entry = Assert.Single(first);
        Assert.Equal(("test-1-amd64", "KB-HELD", held), (entry.Os, entry.Name, entry.Sha256));

        servers.Channel.Reconnect(); // the session was lost and opened again (a restarted server at the same address)
        var second = await servers.Channel.Reports.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(held, Assert.Single(second).Sha256);
        Assert.Equal(2, servers.Channel.SessionNumber);
        await reporter.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(servers.Channel.Reports.TryRead(out _)); // one report per session
    }

    [Fact]
    public async Task ANodeWithAnEmptyStore_StillSendsItsFullReport_SoTheServerCanEndItsOldListings()
    {
        var db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        var store = new BlobStore(_dir.Path, db, new BlobStoreOptions { CapacityBytes = 1 << 30 }, TimeProvider.System);
        db.AddPatch(new PatchRecord("test-1-amd64", "KB-GONE", new string('a', 64), 10, null, DateTimeOffset.UnixEpoch, "n1", 0, null)); // no blob
        var cluster = new ClusterState(new ClusterOptions { Role = RoleSetting.Client, Server = "10.0.0.1:47470" }, new NodeIdentity("n1", "i1", "test-1-amd64", "0.1.0"), TimeProvider.System);
        var servers = new FakeServers();
        using var reporter = new InventoryReporter(cluster, servers, new InventoryReport(db, store), store, new StartedLifetime(), new SystemRandomSource(), TimeProvider.System, NullLogger<InventoryReporter>.Instance);

        await reporter.StartAsync(CancellationToken.None);
        var (entries, kind) = await servers.Channel.Kinded.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(InventoryKind.Full, kind);
        Assert.Empty(entries);
        await reporter.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ABlobThisNodeStoresAndThenEvicts_IsReportedAddedThenGone_InThatOrder()
    {
        var db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        var store = new BlobStore(_dir.Path, db, new BlobStoreOptions { CapacityBytes = 15_000 }, TimeProvider.System); // room for one
        var cluster = new ClusterState(new ClusterOptions { Role = RoleSetting.Client, Server = "10.0.0.1:47470" }, new NodeIdentity("n1", "i1", "test-1-amd64", "0.1.0"), TimeProvider.System);
        var servers = new FakeServers();
        using var reporter = new InventoryReporter(cluster, servers, new InventoryReport(db, store), store, new StartedLifetime(), new SystemRandomSource(), TimeProvider.System, NullLogger<InventoryReporter>.Instance);
        await reporter.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => servers.Channel.SessionNumber > 0, "a session with the server");

        var first = await StoreAsync(store, "KB1", 1);
        await Task.Delay(10); // a later last use
        var second = await StoreAsync(store, "KB2", 2); // over the cap: KB1 is evicted

        Assert.False(store.Contains(first));
        Assert.True(store.Contains(second));

        // What the server last heard of each blob is what the store holds: KB1 gone, KB2 added (a report of KB1's
        // arrival may or may not come first: by the time it is sent KB1 may be gone already, and is then left out).
        var last = new Dictionary<string, InventoryKind>();
        var seen = new List<(InventoryKind Kind, string Sha)>();
        while (!(last.GetValueOrDefault(first, InventoryKind.Full) == InventoryKind.Gone && last.GetValueOrDefault(second, InventoryKind.Full) == InventoryKind.Added))
        {
            var (entries, kind) = await servers.Channel.Kinded.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            foreach (var e in entries)
            {
                last[e.Sha256!] = kind;
                seen.Add((kind, e.Sha256!));
            }
        }

        await Task.Delay(300);
        while (servers.Channel.Kinded.TryRead(out var late))
        {
            seen.AddRange(late.Entries.Select(e => (late.Kind, e.Sha256!)));
        }

        Assert.DoesNotContain((InventoryKind.Gone, second), seen);
        Assert.Equal(InventoryKind.Gone, seen.Last(s => s.Sha == first).Kind);
        await reporter.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task<string> StoreAsync(BlobStore store, string name, int seed)
    {
        var bytes = new byte[10_000];
        new Random(seed).NextBytes(bytes);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await using (var writer = store.BeginWrite(sha, bytes.Length, bytes.Length))
        {
            writer.Patch = new PatchRecord("test-1-amd64", name, sha, bytes.Length, null, DateTimeOffset.UnixEpoch, "n1", 0, null);
            Assert.True((await writer.CopyFromAsync(new MemoryStream(bytes), CancellationToken.None)).Succeeded);
        }

        return sha;
    }

    private sealed class StartedLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => new(true);

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }

    private sealed class FakeServers : IServerChannelProvider
    {
        public FakeServers() => Channel = new FakeChannel(this);

        public event Action<IServerChannel>? SessionOpened;

        public event Action? ServerMayHaveChanged { add { } remove { } } // the reporter follows sessions, not views

        public FakeChannel Channel { get; }

        public IServerChannel? Current => Channel;

        public Task<IServerChannel?> WaitForServerAsync(TimeSpan max, CancellationToken ct) => Task.FromResult<IServerChannel?>(Channel);

        public void Opened(IServerChannel channel) => SessionOpened?.Invoke(channel);
    }

    private sealed class FakeChannel(FakeServers servers) : IServerChannel
    {
        private readonly System.Threading.Channels.Channel<IReadOnlyList<InventoryEntry>> _reports = System.Threading.Channels.Channel.CreateUnbounded<IReadOnlyList<InventoryEntry>>();
        private readonly System.Threading.Channels.Channel<(IReadOnlyList<InventoryEntry>, InventoryKind)> _kinded = System.Threading.Channels.Channel.CreateUnbounded<(IReadOnlyList<InventoryEntry>, InventoryKind)>();

        /// <summary>Every report with its kind (full, added, gone).</summary>
        public System.Threading.Channels.ChannelReader<(IReadOnlyList<InventoryEntry> Entries, InventoryKind Kind)> Kinded => _kinded.Reader;
        private int _session;

        public System.Threading.Channels.ChannelReader<IReadOnlyList<InventoryEntry>> Reports => _reports.Reader;

        public string Name => "fake";

        public bool IsLocal => false;

        public int SessionNumber => Volatile.Read(ref _session);

        public Task ConnectAsync(CancellationToken ct)
        {
            if (SessionNumber == 0)
            {
                Reconnect();
            }

            return Task.CompletedTask;
        }

        public void Reconnect()
        {
            Interlocked.Increment(ref _session);
            servers.Opened(this);
        }

        public Task<ComplianceReply> ReportComplianceAsync(ComplianceReport report, CancellationToken ct) => Task.FromResult(new ComplianceReply(0, []));

        public Task ReportInventoryAsync(IReadOnlyList<InventoryEntry> entries, CancellationToken ct, InventoryKind kind = InventoryKind.Full)
        {
            _reports.Writer.TryWrite(entries);
            _kinded.Writer.TryWrite(([.. entries], kind));
            return Task.CompletedTask;
        }

        public Task<LookupResult> LookupAsync(Lookup lookup, CancellationToken ct) => throw new NotSupportedException();

        public Task<Ack> RenewClaimAsync(ClaimRenew renew, CancellationToken ct) => throw new NotSupportedException();

        public Task ReleaseAsync(ulong claimId, string reason, CancellationToken ct) => throw new NotSupportedException();

        public Task<bool> PushAsync(PatchSpec patch, ulong claimId, bool bodySent, CancellationToken ct) => throw new NotSupportedException();

        public Task<bool> StreamPushAsync(PatchSpec patch, CancellationToken ct) => throw new NotSupportedException();

        public Uri ResolveBlobUrl(string blobUrl) => throw new NotSupportedException();
    }
}
