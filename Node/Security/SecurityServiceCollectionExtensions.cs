using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Security;

/// <summary>Registers the cluster key as loaded at start and the authenticator built on it.</summary>
internal static class SecurityServiceCollectionExtensions
{
    public static IServiceCollection AddSecurity(this IServiceCollection services, SecurityOptions options, KeySetting key)
    {
        services.AddSingleton(options);
        services.AddSingleton(key);
        services.AddSingleton(sp => new ClusterAuth(key.Key, sp.GetRequiredService<NodeIdentity>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
