using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Redirect;

namespace PeerPatch.Node.Apt;

/// <summary>Registers the apt proxy (and its CONNECT tunnel) and puts it in front of the HTTP endpoints.</summary>
internal static class AptServiceCollectionExtensions
{
    public static IServiceCollection AddApt(this IServiceCollection services, AptOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<AptCatalog>();
        services.AddSingleton<AptSourcesList>();
        services.AddSingleton<AptRelayPolicy>();
        services.AddSingleton<AptProxy>();
        services.AddSingleton<ConnectTunnel>();
        return services;
    }

    /// <summary>
    /// Proxy requests (absolute-form targets) go to the apt proxy; so does a request for a domain the hosts file
    /// redirects here (the transparent cache). Everything else goes on to the endpoints.
    /// </summary>
    public static WebApplication UseAptProxy(this WebApplication app)
    {
        var redirects = app.Services.GetRequiredService<RedirectTable>();
        app.Use((ctx, next) =>
        {
            if (AptProxy.IsProxyRequest(ctx, out var target))
            {
                return ctx.RequestServices.GetRequiredService<AptProxy>().HandleAsync(ctx, target, transparent: false);
            }

            if (redirects.Any && redirects.IsRedirected(ctx.Request.Host.Host) && AptProxy.TransparentTarget(ctx) is { } url)
            {
                return ctx.RequestServices.GetRequiredService<AptProxy>().HandleAsync(ctx, url, transparent: true);
            }

            return next(ctx);
        });
        return app;
    }
}
