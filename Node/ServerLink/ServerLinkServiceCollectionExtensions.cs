using Microsoft.Extensions.DependencyInjection;

namespace PeerPatch.Node.ServerLink;

/// <summary>Registers the conversation with the LAN server: the channels (local and remote), the provider that picks one, and the inventory reporter.</summary>
internal static class ServerLinkServiceCollectionExtensions
{
    public static IServiceCollection AddServerLink(this IServiceCollection services, ServerLinkOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<LocalServerChannel>();
        services.AddSingleton<RemoteServerChannelFactory>();
        services.AddSingleton<IServerChannelProvider, ServerChannelProvider>();
        services.AddSingleton<InventoryReport>();
        services.AddHostedService<InventoryReporter>();
        services.AddSingleton<PolicyReplica>();
        services.AddSingleton<PolicyClient>();
        services.AddSingleton<PolicySync>();
        services.AddHostedService(sp => sp.GetRequiredService<PolicySync>());
        return services;
    }
}
