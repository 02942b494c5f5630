using System.Security.Cryptography;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Transfer;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>A <see cref="SwarmFetcher"/> with a real store in a temporary directory and a real LAN HttpClient.</summary>
internal sealed class SwarmRig : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2) }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <param name="order">Chooses the fetch's piece order (<see cref="SwarmFetcher.PieceOrder"/>); default the node's own randomness.</param>
    public SwarmRig(TimeSpan? stall = null, IRandomSource? order = null)
    {
        Db = PatchDatabase.Open(_dir.Sub("peerpatch.db"));
        Store = new BlobStore(_dir.Sub("store"), Db, new BlobStoreOptions { ReserveFreeBytes = 0 }, TimeProvider.System);
        Store.RecoverAtStartup();
        Options = new TransferOptions { LanStallTimeout = stall ?? TimeSpan.FromSeconds(2) };
        Fetcher = new SwarmFetcher(_http, Store, Partials, new NodeIdentity("node-self", "instance-self", "test-1-amd64", "test"), Options, Stats, TimeProvider.System, order ?? new SystemRandomSource(), Log, Faults);
    }

    /// <summary>A piece order of 0, 1, 2... (for a test that needs a given source to be asked for a given piece).</summary>
    public static IRandomSource InOrder => new FixedRandom(Math.BitDecrement(1.0));

    public PatchDatabase Db { get; }

    public BlobStore Store { get; }

    public TransferOptions Options { get; }

    public NodeStats Stats { get; } = new();

    public PartialBlobs Partials { get; } = new();

    public ListLogger<SwarmFetcher> Log { get; } = new();

    /// <summary>The sources the fetches reported as proven wrong, in order.</summary>
    public RecordedFaults Faults { get; } = new();

    public SwarmFetcher Fetcher { get; }

    public Task<FetchResult> FetchAsync(FakeSources sources, ByteProgress? observer = null) =>
        FetchAsync(sources.List(), sources.PieceSize, sources.Sha256, sources.Content.Length, observer);

    /// <summary>The fetch, failing the test if it has not ended after 2 minutes (the stall bounds end every wait far sooner).</summary>
    public Task<FetchResult> FetchAsync(IReadOnlyList<SwarmSource> list, int pieceSize, string sha256, long size, ByteProgress? observer = null) =>
        Fetcher.FetchAsync(list, pieceSize, Record(sha256, size), observer, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));

    public static PatchRecord Record(string sha256, long size) =>
        new("test-1-amd64", "KB-swarm", sha256, size, "http://internet.test/kb.bin", default, string.Empty, 0, null);

    /// <summary>The SHA-256 of the stored copy, or null when there is none.</summary>
    public string? StoredSha(string sha256)
    {
        using var stream = Store.OpenRead(sha256);
        return stream is null ? null : Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public int TempFiles => Directory.GetFiles(Store.TempDirectory).Length;

    public static byte[] Bytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public void Dispose()
    {
        _http.Dispose();
        _dir.Dispose();
    }
}

/// <summary>An <see cref="ISourceFaults"/> that records what it is told.</summary>
internal sealed class RecordedFaults : ISourceFaults
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Sha256, string NodeId, string Kind)> _all = new();

    public IReadOnlyList<(string Sha256, string NodeId, string Kind)> All => [.. _all];

    public void Report(string sha256, string nodeId, string kind) => _all.Enqueue((sha256, nodeId, kind));

    public override string ToString() => string.Join(", ", _all.Select(f => $"{f.NodeId} {f.Kind}"));
}
