using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Transfer;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Copies blobs the server lacks from the nodes that reported them (two at a time), verified by hash like every
/// other transfer; once stored they are ordinary LAN hits and rows of the server's database.
/// </summary>
internal sealed partial class BlobPuller(HolderIndex holders, BlobStore store, LanFetcher fetcher, PatchServer server, ILogger<BlobPuller> logger) : BackgroundService
{
    private readonly Channel<string> _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.Wait });

    /// <summary>
    /// Queues a pull of the blob; false when the queue is full (the caller forgets the blob, so a later report queues it
    /// again). Never waits: the mode is Wait only so that a full queue says false (DropWrite drops and says true).
    /// </summary>
    public bool Enqueue(string sha256) => _queue.Writer.TryWrite(sha256);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, 2).Select(_ => WorkAsync(stoppingToken)));

    private async Task WorkAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var sha in _queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                while (!store.Contains(sha) && holders.TryGet(sha, out var holding))
                {
                    var url = holding.BlobUrl();
                    var result = await fetcher.FetchAsync(url, holding.Record, null, ct).ConfigureAwait(false);
                    if (result.Ok)
                    {
                        server.OnStored(holding.Record.OsVersion, holding.Record.PatchName, sha, holding.Record.Size);
                        Log.Pulled(logger, holding.Record.PatchName, url);
                        break;
                    }

                    Log.PullFailed(logger, holding.Record.PatchName, url, result.Error);
                    holders.Drop(sha, holding.Holders[0]);
                }

                if (store.Contains(sha))
                {
                    holders.Forget(sha);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 330, Level = LogLevel.Information, Message = "pulled {Patch} from {Url}")]
        public static partial void Pulled(ILogger logger, string patch, Uri url);

        [LoggerMessage(EventId = 331, Level = LogLevel.Warning, Message = "pulling {Patch} from {Url} failed: {Error}")]
        public static partial void PullFailed(ILogger logger, string patch, Uri url, string? error);
    }
}
