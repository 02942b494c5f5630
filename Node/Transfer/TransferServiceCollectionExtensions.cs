using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// Registers the node's HttpClients (<see cref="HttpClients"/>: the bounded internet ones and the signing LAN one)
/// and the fetchers built on them. The internet clients connect through the <see cref="IUpstreamConnector"/> a layer
/// above registers, when one does.
/// </summary>
internal static class TransferServiceCollectionExtensions
{
    public static IServiceCollection AddTransfer(this IServiceCollection services, TransferOptions options)
    {
        services.AddSingleton(options);
        services.AddKeyedSingleton(HttpClients.Internet, (sp, _) => Internet(sp, options, followRedirects: true));
        services.AddKeyedSingleton(HttpClients.InternetRelay, (sp, _) => Internet(sp, options, followRedirects: false));
        services.AddKeyedSingleton(HttpClients.InternetPaced, (sp, _) => Internet(sp, options, followRedirects: true, paced: true));
        services.AddKeyedSingleton(HttpClients.Lan, (sp, _) => new HttpClient(new SigningHandler(sp.GetRequiredService<ClusterAuth>(), sp.GetRequiredService<TimeProvider>())
        {
            InnerHandler = new SocketsHttpHandler
            {
                UseProxy = false,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                AutomaticDecompression = DecompressionMethods.None,

                // No node answers a LAN request with a 3xx: one that does is refused, never followed, so a source
                // cannot send this node to any other host or port (nor loop it through 50 hops per piece).
                AllowAutoRedirect = false,
            },
        })
        { Timeout = Timeout.InfiniteTimeSpan, DefaultRequestHeaders = { { "User-Agent", UserAgent(sp) } } });
        services.AddSingleton<LocalAddresses>();
        services.AddSingleton<InternetDownloader>();
        services.AddSingleton<LanFetcher>();
        services.AddSingleton<PartialBlobs>();
        services.AddSingleton<SwarmFetcher>();
        return services;
    }

    private static HttpClient Internet(IServiceProvider sp, TransferOptions options, bool followRedirects, bool paced = false) => HttpClients.CreateInternet(
        options,
        sp.GetRequiredService<TimeProvider>(),
        sp.GetRequiredService<ILogger<InternetBoundsHandler>>(),
        UserAgent(sp),
        sp.GetService<IUpstreamConnector>() is { } connector ? connector.ConnectAsync : null,
        followRedirects,
        paced);

    private static string UserAgent(IServiceProvider sp) => $"PeerPatch/{sp.GetRequiredService<NodeIdentity>().SoftwareVersion}";
}
