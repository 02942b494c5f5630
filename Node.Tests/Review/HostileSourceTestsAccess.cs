using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Review;

/// <summary>The same production LAN client and SwarmFetcher set-up as HostileSourceTests, for the review's tests.</summary>
internal sealed class HostileSourceTestsAccess : IDisposable
{
    private static readonly NodeIdentity Self = new("node-self", "instance-self", "test-1-amd64", "test");
    private readonly ServiceProvider _services;
    private readonly TempDir _dir = new();

    public HostileSourceTestsAccess()
    {
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(Self);
        services.AddSingleton(new ClusterAuth(null, Self, TimeProvider.System));
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddTransfer(new TransferOptions());
        _services = services.BuildServiceProvider();
    }

    public (SwarmFetcher Fetcher, NodeStats Stats, ListLogger<SwarmFetcher> Log) Swarm(TimeSpan stall, TransferOptions? options = null)
    {
        var db = PatchDatabase.Open(_dir.Sub($"db-{Guid.NewGuid():N}"));
        var store = new BlobStore(_dir.Sub($"store-{Guid.NewGuid():N}"), db, new BlobStoreOptions { ReserveFreeBytes = 0 }, TimeProvider.System);
        store.RecoverAtStartup();
        var stats = new NodeStats();
        var log = new ListLogger<SwarmFetcher>();
        options ??= new TransferOptions();
        options.LanStallTimeout = stall;
        var http = _services.GetRequiredKeyedService<HttpClient>(HttpClients.Lan);
        return (new SwarmFetcher(http, store, new PartialBlobs(), Self, options, stats, TimeProvider.System, log), stats, log);
    }

    /// <summary>The piece list of <paramref name="content"/>, named <paramref name="sha"/> (a made-up list when they differ).</summary>
    public static byte[] ListJson(byte[] content, int pieceSize, string sha)
    {
        var list = new PieceList(
            sha,
            content.Length,
            pieceSize,
            [.. Enumerable.Range(0, PieceList.CountFor(content.Length, pieceSize))
                .Select(i => Convert.ToHexStringLower(SHA256.HashData(content.AsSpan(i * pieceSize, Math.Min(pieceSize, content.Length - (i * pieceSize))))))]);
        return JsonSerializer.SerializeToUtf8Bytes(list, StatusJsonContext.Default.PieceList);
    }

    public void Dispose()
    {
        _services.Dispose();
        _dir.Dispose();
    }
}
