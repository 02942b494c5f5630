using Microsoft.Extensions.DependencyInjection;

namespace PeerPatch.Node.Transport;

/// <summary>
/// Registers the LiteNetLib transport. Register it before the services that use it from their first moment: hosted
/// services start in registration order. Requests that arrive are answered by the <see cref="ILanRequestHandler"/>
/// a layer above registers (none: the node refuses connections).
/// </summary>
internal static class TransportServiceCollectionExtensions
{
    public static IServiceCollection AddTransport(this IServiceCollection services)
    {
        services.AddSingleton(new TransportOptions());
        services.AddSingleton<LanTransport>();
        services.AddHostedService(sp => sp.GetRequiredService<LanTransport>());
        return services;
    }
}
