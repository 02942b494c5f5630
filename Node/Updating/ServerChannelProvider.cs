using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Hosting;

namespace PeerPatch.Node.Updating;

/// <summary>Picks the channel for the server <see cref="ClusterState"/> names.</summary>
internal sealed class ServerChannelProvider : IServerChannelProvider
{
    public ServerChannelProvider(ClusterState cluster, IServiceProvider services)
    {
        if (cluster.IsServer)
        {
            Current = ActivatorUtilities.CreateInstance<LocalServerChannel>(services);
        }
        else if (HostPort.TryParse(cluster.ServerAddress, out var host, out var port))
        {
            Current = ActivatorUtilities.CreateInstance<RemoteServerChannel>(services, host, port);
        }
    }

    public IServerChannel? Current { get; }
}
