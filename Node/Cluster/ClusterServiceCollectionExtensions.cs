using Microsoft.Extensions.DependencyInjection;

namespace PeerPatch.Node.Cluster;

/// <summary>Registers membership: the cluster view and the service that discovers, elects and heartbeats.</summary>
internal static class ClusterServiceCollectionExtensions
{
    public static IServiceCollection AddCluster(this IServiceCollection services, ClusterOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<ClusterState>();
        services.AddSingleton<ClusterService>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterService>());
        return services;
    }
}
