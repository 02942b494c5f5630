using Microsoft.Extensions.DependencyInjection;

namespace PeerPatch.Node.Primitives;

/// <summary>Registers the node-wide primitives every layer may use: settings, identity, clock, randomness, counters, events.</summary>
internal static class PrimitivesServiceCollectionExtensions
{
    public static IServiceCollection AddPrimitives(this IServiceCollection services, CoreOptions options, NodeIdentity identity, TimeProvider time, IRandomSource random)
    {
        services.AddSingleton(options);
        services.AddSingleton(identity);
        services.AddSingleton(time);
        services.AddSingleton(random);
        services.AddSingleton(new NodeStartTime(time.GetUtcNow()));
        services.AddSingleton(new NodeStats());
        services.AddSingleton<NodeEvents>();
        services.AddSingleton<HttpEndpointInfo>();
        services.AddSingleton<RelayedClients>();
        return services;
    }
}
