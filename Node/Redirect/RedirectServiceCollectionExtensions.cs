using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Redirect;

/// <summary>
/// Registers redirect mode: the hosts-file table, the port-80 listener, the transparent cache, and the connect step
/// of the internet clients (<see cref="IUpstreamConnector"/>: redirected domains resolve through DNS).
/// </summary>
internal static class RedirectServiceCollectionExtensions
{
    public static IServiceCollection AddRedirect(this IServiceCollection services, RedirectOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<RedirectTable>();
        services.AddHostedService(sp => sp.GetRequiredService<RedirectTable>());
        services.AddHostedService<RedirectListener>();
        services.AddSingleton<UpstreamResolver>();
        services.AddSingleton<IUpstreamConnector>(sp => sp.GetRequiredService<UpstreamResolver>());
        services.AddSingleton<RedirectCache>();
        return services;
    }
}
