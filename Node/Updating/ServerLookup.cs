using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Updating;

/// <summary>
/// The lookup step of one patch: the server it asks, which is the one known when the patch started, replaced once by
/// a newly elected server when it stops answering (an election moved this node on). A server that cannot answer is
/// an expected outcome (<see cref="Asked.Unavailable"/>), never an exception.
/// </summary>
internal sealed class ServerLookup(IServerChannel first, IServerChannelProvider servers, NodeStats stats, TimeProvider time, ILogger logger)
{
    private bool _switched;

    /// <summary>The server asked now.</summary>
    public IServerChannel Server { get; private set; } = first;

    public async Task<Asked> LookupAsync(Lookup lookup, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                var asked = time.GetTimestamp();
                var answer = await Server.LookupAsync(lookup, ct).ConfigureAwait(false);
                stats.LookupTook(time.GetElapsedTime(asked));
                return new Asked(answer, null);
            }
            catch (LanUnavailableException e)
            {
                // The server died and an election already moved this node to another: ask that one (once).
                if (!_switched && servers.Current is { } next && !ReferenceEquals(next, Server))
                {
                    PipelineLog.ServerChanged(logger, lookup.PatchName, Server.Name, next.Name);
                    (Server, _switched) = (next, true);
                    continue;
                }

                return new Asked(null, $"LAN server {Server.Name} unavailable ({e.Message})");
            }
        }
    }

    /// <summary>The server's answer, or why there is none.</summary>
    internal readonly record struct Asked(LookupResult? Answer, string? Unavailable);
}
