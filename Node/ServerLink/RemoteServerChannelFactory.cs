using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Transport;
using PeerPatch.Storage;

namespace PeerPatch.Node.ServerLink;

/// <summary>Makes the channel to a remote server at an address, with the dependencies every such channel shares.</summary>
internal sealed class RemoteServerChannelFactory(
    LanTransport transport,
    [FromKeyedServices(HttpClients.Lan)] HttpClient lanHttp,
    BlobStore store,
    NodeIdentity self,
    HttpEndpointInfo ownHttp,
    ServerLinkOptions options,
    TransportOptions transportOptions,
    TransferOptions transferOptions,
    NodeStats stats,
    IRandomSource random,
    TimeProvider time)
{
    /// <param name="sessionOpened">Called with the channel each time it opens a new session.</param>
    public RemoteServerChannel Create(string host, int port, Action<IServerChannel> sessionOpened) =>
        new(host, port, sessionOpened, transport, lanHttp, store, self, ownHttp, options, transportOptions, transferOptions, stats, random, time);
}
