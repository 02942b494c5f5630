using Microsoft.Extensions.DependencyInjection;

namespace PeerPatch.Node.ServerLink;

/// <summary>Registers the conversation with the LAN server: the channels (local and remote), the provider that picks one, and the inventory and source-fault reporters.</summary>
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
        services.AddSingleton<SourceFaultReporter>();
        services.AddSingleton<Transfer.ISourceFaults>(sp => sp.GetRequiredService<SourceFaultReporter>()); // a fetch's proven-wrong sources, to the server
        services.AddHostedService(sp => sp.GetRequiredService<SourceFaultReporter>());
        services.AddSingleton<PolicyReplica>();
        services.AddSingleton<PolicyClient>();
        services.AddSingleton<PolicySync>();
        services.AddHostedService(sp => sp.GetRequiredService<PolicySync>());
        return services;
    }
}
